import sys
from pathlib import Path

# Shared hypothesis strategies and helpers live beside the tests.
sys.path.insert(0, str(Path(__file__).parent / "engine"))

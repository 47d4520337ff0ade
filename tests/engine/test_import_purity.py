"""engine/ is pure NumPy: importing it must not pull in textual or rich."""

import subprocess
import sys


def test_engine_imports_neither_textual_nor_rich():
    code = (
        "import sys, engine, engine.ops, engine.shapes, engine.errors\n"
        "import pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

"""Make the SVG screenshots in docs/ with the app itself (Textual's export_screenshot, as `P` does).

Run from the repository root: `python docs/make_screenshots.py` (PYTHONPATH=. when not installed).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import lecture, samples  # noqa: E402
from engine.files import write_atomic  # noqa: E402
from tui.app import CnnApp  # noqa: E402
from tui.screens.lecture import SlideShow  # noqa: E402


def lecture_app(slide: int, theme: str = "cnn-dark") -> CnnApp:
    return CnnApp(None, theme=theme, slides=SlideShow(lecture.load(lecture.resolve(None)), slide))


async def shoot(app: CnnApp, size: tuple[int, int], name: str, keys: list[str], setup=None) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        if setup is not None:
            setup(app)
        for key in keys:
            await pilot.press(key)
        for _ in range(5):
            await pilot.pause()
        write_atomic(ROOT / "docs" / name, app.export_screenshot().encode("utf-8"))
        print("wrote docs/" + name)


def stepper_app(name: str) -> CnnApp:
    sample = samples.load(samples.resolve(name))
    return CnnApp(sample, sample.trace())


def network_app() -> CnnApp:
    return CnnApp(None, network=samples.resolve("seed_convnet"))


def zoom_cell(app: CnnApp) -> None:
    app.screen.layer = 4
    app.screen.mode = "zoom"
    app.screen.cursor = (5, 6)


def pool_cell(app: CnnApp) -> None:
    app.screen.index = app.screen.trace.stage_starts[3] + 4


async def main() -> None:
    await shoot(lecture_app(1), (100, 30), "lecture-slide.svg", ["right", "right", "right"])
    await shoot(lecture_app(1, "cnn-light"), (100, 30), "lecture-light.svg", [])
    await shoot(lecture_app(1), (200, 60), "present-200x60.svg", ["right", "f"])
    await shoot(stepper_app("seed_pipeline"), (120, 40), "pipeline-receptive.svg", [], pool_cell)
    await shoot(network_app(), (160, 48), "network-receptive.svg", [], zoom_cell)
    await shoot(network_app(), (120, 36), "network-fc2.svg", ["end"] + ["down"] * 12)


if __name__ == "__main__":
    asyncio.run(main())

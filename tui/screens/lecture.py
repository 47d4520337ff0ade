"""Lecture mode: the open lecture's slides, which one is shown, and what each slide kept.

The app holds one SlideShow (`app.slides`, None outside a lecture). `>` / `<` (SLIDE_BINDINGS,
app-wide) ask it for the next slide's view; the views only ask it what to show under their
title (`caption_for`, `bookmark_for`) and add `slide k of n` to their status (`status_for`).
A slide keeps its step (stepper) or its layer (network view) while another slide is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from textual.binding import Binding
from textual.screen import Screen

from engine import samples
from engine.lecture import Lecture, Slide

SLIDE_BINDINGS = [
    Binding(
        "greater_than_sign",
        "next_slide",
        "Slide",
        key_display=">",
        tooltip="Lecture: next slide (asks about unsaved edits)",
    ),
    Binding(
        "less_than_sign",
        "previous_slide",
        "Previous slide",
        show=False,
        key_display="<",
        tooltip="Lecture: previous slide (asks about unsaved edits)",
    ),
]


@dataclass
class SlideShow:
    """The lecture and the slide on screen (0-based); kept[k] is what slide k showed when left."""

    lecture: Lecture
    current: int = 0
    kept: dict[int, dict[str, int]] = field(default_factory=dict)

    @property
    def slide(self) -> Slide:
        return self.lecture.slides[self.current]

    def __len__(self) -> int:
        return len(self.lecture)

    def status(self) -> str:
        return f"slide {self.current + 1} of {len(self)}"

    def caption(self) -> str:
        return f"{self.status()} · {self.slide.caption}"

    def bookmark(self, step_number: int) -> str:
        text = self.slide.bookmarks.get(step_number, "")
        return f"★ step {step_number}: {text}" if text else ""

    # ------------------------------------------------------------ what a slide keeps

    def remember(self, screen: Screen) -> None:
        """Keep the shown view's place (the stepper's step, the network view's layer and channel)."""
        from tui.screens.network import NetworkScreen
        from tui.screens.stepper import StepperScreen

        if isinstance(screen, StepperScreen):
            self.kept[self.current] = {"index": screen.index}
        elif isinstance(screen, NetworkScreen):
            self.kept[self.current] = {"layer": screen.layer, "channel": screen.channel}

    def restore(self, screen: Screen) -> None:
        """Put a freshly built view of the current slide where the slide was left."""
        from tui.screens.network import NetworkScreen
        from tui.screens.stepper import StepperScreen

        kept = self.kept.get(self.current, {})
        if isinstance(screen, StepperScreen) and "index" in kept:
            screen.set_reactive(StepperScreen.index, min(kept["index"], len(screen.trace) - 1))
        elif isinstance(screen, NetworkScreen) and "layer" in kept:

            def place() -> None:
                screen.layer = kept["layer"]
                screen.channel = min(kept["channel"], screen.channels - 1)

            screen.call_after_refresh(place)


def description_of(path: Path) -> str:
    """A sample file's description ('' when it has none or cannot be read)."""
    return str(samples._peek(path).get("description", ""))


def slideshow(screen: Screen) -> SlideShow | None:
    """The app's lecture, when the screen is the current slide's view (a bridge or a sample
    opened with `o` is not)."""
    slides = getattr(screen.app, "slides", None)
    if slides is not None and getattr(screen, "slide", None) is slides.slide:
        return slides
    return None


def caption_for(screen: Screen) -> str:
    """The slide line for a view's Caption: `slide 2 of 10 · caption`, or '' outside a lecture."""
    slides = slideshow(screen)
    return slides.caption() if slides is not None else ""


def bookmark_for(screen: Screen, step_number: int) -> str:
    slides = slideshow(screen)
    return slides.bookmark(step_number) if slides is not None else ""


def status_for(screen: Screen) -> str:
    slides = slideshow(screen)
    return slides.status() if slides is not None else ""


def notes_for(screen: Screen) -> str:
    """The lecturer's notes of the slide on screen, headed by its caption ('' outside a lecture)."""
    slides = slideshow(screen)
    if slides is None:
        return ""
    slide = slides.slide
    return f"{slides.caption()}\n\n" + (" ".join(slide.notes.split()) if slide.notes else "(no notes)")


class LectureActions:
    """The app's side of lecture mode (mixed into CnnApp): `>` / `<` and showing a slide."""

    slides: SlideShow | None = None
    presenting: bool = False
    """Present mode (f, tui.screens.present): kept from slide to slide."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_slide", "previous_slide"):
            from textual.screen import ModalScreen

            return self.slides is not None and not isinstance(self.screen, ModalScreen)  # type: ignore[attr-defined]
        return super().check_action(action, parameters)  # type: ignore[misc]

    def action_next_slide(self) -> None:
        self.go_to_slide(+1)

    def action_previous_slide(self) -> None:
        self.go_to_slide(-1)

    def go_to_slide(self, delta: int) -> None:
        from tui.screens.training import TrainingScreen

        app = self  # type: ignore[assignment]
        slides = self.slides
        if slides is None:
            return
        number = slides.current + delta
        if not 0 <= number < len(slides):
            app.notify(f"{slides.status()}: {'the last' if delta > 0 else 'the first'} slide", timeout=3)
            return
        if isinstance(app.screen, TrainingScreen):
            app.notify("training is on screen: Esc stops it and goes back, then > or <", timeout=4)
            return
        app.unless_unsaved(lambda: self.show_slide(number), "going to another slide")

    def show_slide(self, number: int) -> bool:
        """Leave the shown slide (remembering its place) and show slide `number` (0-based) where it was
        left; a slide that cannot be opened is reported and the current one stays."""
        from engine.errors import CnnError

        app = self  # type: ignore[assignment]
        slides = self.slides
        assert slides is not None
        base = app.screen_stack[1] if len(app.screen_stack) > 1 else None
        try:
            view = app.view_for(slides.lecture.slides[number].path)
        except CnnError as error:
            app.notify(str(error), title=f"Cannot open slide {number + 1}", severity="error", timeout=10)
            return False
        if base is not None and getattr(base, "slide", None) is slides.slide:
            slides.remember(base)
        while len(app.screen_stack) > 2:  # a bridge opened from the slide's network view
            app.pop_screen()
        slides.current = number
        view.slide = slides.slide
        slides.restore(view)
        if base is None:
            app.push_screen(view)
        else:
            app.switch_screen(view)
        return True

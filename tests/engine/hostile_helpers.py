"""Shared by the hostile-input suites: a memory limit, a hang guard and the tally of outcomes.

Every hostile case must end in a correct result or one CnnError line, in bounded memory and time.
The address-space limit makes a runaway allocation a MemoryError (a failed case) instead of
swapping the machine; the alarm turns a hang into a failure.
"""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import CnnError

#: Address space a hostile case may add to what the test process already maps.
HEADROOM = 1536 * 2**20
#: Seconds a case may run before it counts as a hang.
HANG_SECONDS = 60


def mapped_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def bounded() -> Iterator[None]:
    """RLIMIT_AS at what is mapped now plus HEADROOM, and an alarm after HANG_SECONDS; both restored."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = mapped_bytes() + HEADROOM
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    def hang(signum, frame):
        raise TimeoutError(f"a hostile case ran for more than {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@dataclass
class Tally:
    """Counts of cases, clean errors and successes; failures name the case and what escaped."""

    cases: int = 0
    errors: int = 0
    successes: int = 0
    failures: list[str] = field(default_factory=list)

    def run(self, name: str, case: Callable[[], object], check: Callable[[object], None] | None = None) -> None:
        """Run one case under the bounds: a CnnError of one line, or a result that passes check."""
        self.cases += 1
        try:
            with bounded():
                result = case()
                if check is not None:
                    check(result)
        except CnnError as error:
            message = str(error)
            if "\n" in message or len(message) > 600:
                self.failures.append(f"{name}: error is not one short line: {message[:200]!r}")
            else:
                self.errors += 1
            return
        except Exception as error:  # noqa: BLE001 (anything else escaping is what the suite looks for)
            self.failures.append(f"{name}: {type(error).__name__}: {str(error)[:200]}")
            return
        self.successes += 1

    def summary(self) -> str:
        return (
            f"{self.cases} cases: {self.errors} clean errors, {self.successes} successes, {len(self.failures)} failures"
        )

"""The batch's progress line on stderr: a redrawn bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from typing import TextIO

from grader.report.text import plain
from grader.truncation import PROGRESS_LINE_CHARS

BAR_WIDTH = 28


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """Counts finished submissions and estimates the time left from those graded so far."""

    def __init__(self, total: int, stream: TextIO, *, resumed: int = 0) -> None:
        self.total, self.stream = total, stream
        self.done = resumed
        self.graded = 0
        self.start = time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        if resumed:
            self._line(f"{resumed} of {total} submissions already graded (resumed; --force regrades)")

    def eta(self) -> float | None:
        if not self.graded:
            return None
        rate = self.graded / (time.monotonic() - self.start)
        return (self.total - self.done) / rate

    def step(self, name: str, outcome: str) -> None:
        """One submission done; its name is the learner's text, shown with escapes."""
        name, outcome = plain(name).replace("\n", "\\n"), plain(outcome)
        self.done += 1
        self.graded += 1
        eta = self.eta()
        left = f"ETA {_clock(eta)}" if eta is not None else "ETA ?"
        if self.tty:
            filled = int(BAR_WIDTH * self.done / max(1, self.total))
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            text = f"[{bar}] {self.done}/{self.total}  {left}  {name}: {outcome}"
            self.stream.write("\r\033[K" + text[:PROGRESS_LINE_CHARS])
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {name}: {outcome}  ({left})\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        self._line(text)

    def _line(self, text: str) -> None:
        self.stream.write(("\r\033[K" if self.tty else "") + text + "\n")
        self.stream.flush()

    def finish(self) -> float:
        return time.monotonic() - self.start

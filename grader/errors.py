"""What can go wrong, as exception types every layer shares.

``LearnerError`` and its family are what a learner's code can cause in the worker (the
client raises them, the plugin turns each into a status); ``SubmissionError`` is a
submission that cannot be graded at all.
"""

from __future__ import annotations

from typing import Sequence


class LearnerError(Exception):
    """Base of everything that a learner's code can cause; the plugin turns each into a status."""


class LearnerRaised(LearnerError):
    """The learner's code raised an exception (carried as data: it lives in the worker)."""

    def __init__(self, type_name: str, message: str, traceback_text: str, mro: Sequence[str],
                 *, errno: int | None = None, where: str = ""):
        # A message of several lines keeps them, each after the first marked "| ": whatever
        # it says, it cannot pass for a line of the grader's own report (a "Total: ...").
        message = str(message).replace("\r\n", "\n").replace("\n", "\n    | ")
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.message, self.traceback_text = type_name, message, traceback_text
        self.mro = tuple(mro)
        self.errno = errno        # an OSError's errno number, else None
        self.where = where        # "ex03_matmul.py, line 12, in matmul": the innermost learner frame

    def is_a(self, exc_type: type[BaseException]) -> bool:
        return f"{exc_type.__module__}.{exc_type.__qualname__}" in self.mro


class NotStarted(LearnerRaised):
    """The function still raises ``NotImplementedError``."""


class WorkerTimeout(LearnerError):
    def __init__(self, seconds: float, what: str):
        super().__init__(f"{what} did not finish within {seconds:g} s")
        self.seconds, self.what = seconds, what


class TimedOutBefore(WorkerTimeout):
    """Not run: an earlier call of the same function did not finish within its limit."""

    def __init__(self, seconds: float, what: str, during: str):
        LearnerError.__init__(self, f"an earlier call of {what} did not finish within {seconds:g} s")
        self.seconds, self.what, self.during = seconds, what, during


class Refused(LearnerError):
    """The worker's lock refused something the learner's code did (starting a thread, reading
    the interpreter's internals, opening a file): the message says what, and where."""


class WorkerDied(LearnerError):
    """The worker process ended while running the learner's code."""


class ImportFailed(LearnerError):
    """The learner's module could not be imported; ``cause`` is what happened."""

    def __init__(self, module: str, cause: LearnerError):
        super().__init__(str(cause))
        self.module, self.cause = module, cause


class ModuleMissing(LearnerError):
    """The submission has no file for this module: the exercise is not started."""


class SubmissionError(Exception):
    """The submission as a whole cannot be graded; the message says why."""

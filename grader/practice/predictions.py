"""Look at the data: train a learner's SimpleMnist and draw its predictions on held-out digits.

``grader show-predictions`` loads ex04 of a submission (folder, .zip or .ipynb) into a worker
with the same isolation as grading, builds ``SimpleMnist()``, trains it with the learner's own
``fit`` (one epoch on the 4,000 embedded training digits), predicts the 1,000 held-out digits
with the learner's ``predict`` and saves a grid of the first ``n``, each titled with the
prediction (wrong ones in red, with the true digit). Nothing here is graded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from grader.engine.session import learner_for
from grader.errors import LearnerError, SubmissionError
from grader.isolation.proxies import ModuleProxy
from grader.paths import EXERCISES_DIR, KIT_ROOT
from grader.settings import Settings

MODULE = "ex04_simple_mnist"
DEFAULT_OUT = Path("build") / "ex04_predictions.png"
FIT_EPOCHS = 1
FIT_TIMEOUT_S = 60.0      # a training call (one epoch here, two in the ex04 suite, which uses this)
TITLE = ("your SimpleMnist after {epochs} epoch of fit: {shown} held-out digits, {wrong} wrong, "
         "in red as predicted (true); held-out accuracy {accuracy:.3f}")


# Added to the report of a grading run that graded ex04 (the ex04 suite's exercise marker).
NOTE = ("ex04: `make predictions` trains your SimpleMnist and "
        "draws its predictions on held-out digits into build/ex04_predictions.png")


class PredictionsError(RuntimeError):
    """The learner's code could not produce predictions; the message says why, for the learner."""


@dataclass(frozen=True)
class Predictions:
    path: Path
    accuracy: float     # on all held-out digits
    fit_seconds: float
    shown: int
    wrong_shown: int

    def summary(self) -> str:
        return (f"wrote {self.path}: {self.shown} held-out digits, {self.wrong_shown} predicted "
                f"wrong; accuracy on all 1,000 held-out digits {self.accuracy:.3f} "
                f"(fit, {FIT_EPOCHS} epoch: {self.fit_seconds:.2f} s)")


def show_predictions(*, submission: Path | None = None, out: Path | None = None, n: int = 32,
                     settings: Settings | None = None) -> Predictions:
    """Train the submission's SimpleMnist with its ``fit`` and save the prediction grid to
    ``out`` (default ``build/ex04_predictions.png`` under the kit). ``PredictionsError`` when
    the learner's code fails (not started, raised, timed out) or the submission cannot load."""
    settings = settings or Settings()
    submission = Path(submission) if submission else EXERCISES_DIR
    out = Path(out) if out else KIT_ROOT / DEFAULT_OUT
    if n < 1:
        raise ValueError("n must be at least 1")
    try:
        with learner_for(submission, [MODULE], settings, preload=["numpy", "torch"]) as learner:
            return _train_and_draw(learner.module(MODULE), out, n, settings)
    except SubmissionError as exc:
        raise PredictionsError(str(exc)) from None


def _train_and_draw(ex: ModuleProxy, out: Path, n: int, settings: Settings) -> Predictions:
    from grader.data import load_mnist   # torch and matplotlib: imported by this command only
    from grader.report.plots import save_prediction_grid

    digits = load_mnist(root=settings.data_dir)
    step = "loading ex04_simple_mnist.py"
    try:
        ex.seed_torch(settings.seed)         # repeatable, where the module has a torch to seed
        step = "SimpleMnist()"
        model = ex.SimpleMnist()
        step = "fit(model, train_x, train_y, epochs=1)"
        start = time.perf_counter()
        ex.fit.call(model, digits.train_x, digits.train_y, epochs=FIT_EPOCHS,
                    timeout=max(FIT_TIMEOUT_S, settings.limits.call_timeout_s))
        seconds = time.perf_counter() - start
        step = "predict(model, test_x)"
        predicted = ex.predict(model, digits.test_x)
    except LearnerError as exc:
        raise PredictionsError(f"{step}: {exc}") from None
    try:
        import torch

        predicted = torch.as_tensor(predicted).reshape(-1)
        if predicted.shape != digits.test_y.shape:
            raise ValueError(f"expected {len(digits.test_y)} predictions, got shape "
                             f"{tuple(predicted.shape)}")
        accuracy = float((predicted.long() == digits.test_y).double().mean())
    except (TypeError, ValueError, RuntimeError) as exc:
        raise PredictionsError(f"predict(model, test_x) returned something unusable: {exc}") from None
    shown = min(n, len(predicted))
    wrong = int((predicted[:shown].long() != digits.test_y[:shown]).sum())
    raw = digits.test_x * digits.std + digits.mean      # back to [0, 1] grey levels for the eye
    path = save_prediction_grid(raw, digits.test_y, predicted, out, n=shown, title=TITLE.format(
        epochs=FIT_EPOCHS, shown=shown, wrong=wrong, accuracy=accuracy))
    return Predictions(path=path, accuracy=accuracy, fit_seconds=seconds, shown=shown,
                       wrong_shown=wrong)

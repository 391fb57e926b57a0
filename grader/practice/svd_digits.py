"""Look at the data: MNIST digits rebuilt from a learner's PCA with 1, 5, 20 and 50 components.

``grader svd-digits [--submission PATH] [--out FILE]`` (``make svd-digits``) loads ex08 of a
submission (folder, .zip or .ipynb) into a worker with the same isolation as grading, runs
the learner's ``pca`` on the 4,000 embedded training digits with k = 50, and saves
``build/ex08_svd_digits.png``: the first 8 digits as they are, then rebuilt from the first
1, 5, 20 and 50 components, ``mean + projected[:, :k] @ components[:k]``, each row titled
with the share of the variance those components explain (the sum of the learner's first k
ratios). Nothing is trained and nothing is graded; the learner's code only runs in the
worker, and what comes back is checked for shape before it is drawn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.engine.session import learner_for
from grader.errors import LearnerError, SubmissionError
from grader.isolation.proxies import ModuleProxy
from grader.paths import EXERCISES_DIR, KIT_ROOT
from grader.settings import Settings

MODULE = "ex08_svd"
DEFAULT_OUT = Path("build") / "ex08_svd_digits.png"
KS = (1, 5, 20, 50)
N_DIGITS = 8
PCA_TIMEOUT_S = 60.0        # an SVD of 4,000 x 784 takes about a second on one core
TITLE = ("your pca on the 4,000 training digits: the first {n} rebuilt from k components, "
         "mean + projected[:, :k] @ components[:k]\nexplained variance: {shares}")
ROW_LABEL = "k = {k}: {explained:.1%} of the variance"

# Added to the report of a grading run that graded ex08 (the ex08 suite's exercise marker).
NOTE = ("ex08: `make svd-digits` draws digits rebuilt from your pca "
        "into build/ex08_svd_digits.png")


class SvdDigitsError(RuntimeError):
    """The learner's code could not produce the picture; the message says why, for the learner."""


@dataclass(frozen=True)
class SvdDigits:
    path: Path
    explained: dict[int, float]     # k -> the share of the variance the first k components explain
    pca_seconds: float

    def summary(self) -> str:
        shares = ", ".join(f"k={k}: {v:.1%}" for k, v in self.explained.items())
        return (f"wrote {self.path}: {N_DIGITS} training digits rebuilt from your pca ({shares} "
                f"of the variance; pca(train_x, {max(KS)}) took {self.pca_seconds:.2f} s)")


def show_svd_digits(*, submission: Path | None = None, out: Path | None = None,
                    settings: Settings | None = None) -> SvdDigits:
    """Run the submission's ``pca`` on the training digits and save the picture to ``out``
    (default ``build/ex08_svd_digits.png`` under the kit). ``SvdDigitsError`` when the
    learner's code fails (not started, raised, timed out, returned something unusable) or
    the submission cannot be loaded."""
    settings = settings or Settings()
    submission = Path(submission) if submission else EXERCISES_DIR
    out = Path(out) if out else KIT_ROOT / DEFAULT_OUT
    try:
        with learner_for(submission, [MODULE], settings, preload=["numpy"]) as learner:
            if MODULE not in learner.available:
                raise SvdDigitsError(f"{MODULE}.py is not in {submission}")
            return _rebuild_and_draw(learner.module(MODULE), out, settings)
    except SubmissionError as exc:
        raise SvdDigitsError(str(exc)) from None


def _rebuild_and_draw(ex: ModuleProxy, out: Path, settings: Settings) -> SvdDigits:
    from grader.data import load_mnist   # torch and matplotlib: imported by this command only
    from grader.report.plots import save_rebuilt_grid

    digits = load_mnist(root=settings.data_dir)
    x = digits.train_x.numpy().astype(np.float64)
    k = max(KS)
    call = f"pca(train_x, {k}) on the 4,000 training digits"
    start = time.perf_counter()
    try:
        result = ex.pca.call(x, k, timeout=max(PCA_TIMEOUT_S, settings.limits.call_timeout_s)).value
    except LearnerError as exc:
        raise SvdDigitsError(f"{call}: {exc}") from None
    seconds = time.perf_counter() - start
    components, ratio, projected = _checked(result, x.shape, k, call)
    mean = x.mean(axis=0)
    rows = [("the digits", x[:N_DIGITS])]
    explained = {}
    for n in KS:
        explained[n] = float(ratio[:n].sum())
        rebuilt = mean + projected[:N_DIGITS, :n] @ components[:n]
        rows.append((ROW_LABEL.format(k=n, explained=explained[n]), rebuilt))
    # Back to grey levels in [0, 1], as the digits were before load_mnist normalised them.
    rows = [(label, np.clip(images * digits.std + digits.mean, 0.0, 1.0)) for label, images in rows]
    shares = ", ".join(f"k = {n}: {v:.1%}" for n, v in explained.items())
    path = save_rebuilt_grid(rows, out, title=TITLE.format(n=N_DIGITS, shares=shares))
    return SvdDigits(path=path, explained=explained, pca_seconds=seconds)


def _checked(result, shape: tuple[int, int], k: int, call: str) -> list[np.ndarray]:
    """The three arrays of ``pca``'s result, float64, or ``SvdDigitsError`` saying what is wrong."""
    n, d = shape
    want = {"components": (k, d), "explained_variance_ratio": (k,), "projected": (n, k)}
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        raise SvdDigitsError(f"{call} returned {type(result).__name__}, expected a tuple "
                             f"(components, explained_variance_ratio, projected)")
    arrays = []
    for (name, shape_wanted), value in zip(want.items(), result):
        if not isinstance(value, np.ndarray) or value.shape != shape_wanted:
            got = value.shape if isinstance(value, np.ndarray) else type(value).__name__
            raise SvdDigitsError(f"{call}: {name} should be an array of shape {shape_wanted}, got {got}")
        if value.dtype.kind not in "biuf":
            raise SvdDigitsError(f"{call}: {name} should hold real numbers, got dtype {value.dtype}")
        if not np.isfinite(value).all():
            raise SvdDigitsError(f"{call}: {name} holds nan or inf")
        arrays.append(value.astype(np.float64))
    return arrays

"""Pictures for feedback: a grid of held-out digits titled with what a model predicted, and
rows of digits rebuilt from a few principal components.

Matplotlib is imported inside the function, with its object-oriented Agg canvas rather than
``pyplot``, so importing the grader stays cheap and no global backend is switched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

IMAGE_SIDE = 28
COLUMNS = 8
WRONG_COLOUR, RIGHT_COLOUR = "tab:red", "black"
DEFAULT_TITLE = "{shown} held-out digits, {wrong} wrong (in red, as predicted (true))"


def save_prediction_grid(images: Any, labels: Any, predictions: Any, path: str | Path, *,
                         n: int = 32, title: str | None = None) -> Path:
    """Save a PNG grid of the first ``n`` digits, each titled with its predicted label.

    ``images`` is (N, 784), (N, 28, 28) or (N, 1, 28, 28), raw or normalised, as a NumPy
    array or a tensor (on any device); ``labels`` and ``predictions`` are (N,) digits. A
    wrong prediction is titled ``"pred (true)"`` in red. ``title`` defaults to a count of
    the digits shown and the wrong ones. Creates the parent folder; returns the path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pictures = _as_numpy(images)
    truth, guesses = _as_numpy(labels).reshape(-1), _as_numpy(predictions).reshape(-1)
    if not len(pictures) == len(truth) == len(guesses):
        raise ValueError(f"images, labels and predictions differ in length: "
                         f"{len(pictures)}, {len(truth)}, {len(guesses)}")
    shown = min(n, len(pictures))
    if shown < 1:
        raise ValueError("there are no digits to plot")
    pictures = pictures[:shown].reshape(shown, IMAGE_SIDE, IMAGE_SIDE)
    truth, guesses = truth[:shown].astype(int), guesses[:shown].astype(int)

    columns = min(COLUMNS, shown)
    rows = -(-shown // columns)
    figure = Figure(figsize=(1.5 * columns, 1.7 * rows + 0.6))
    FigureCanvasAgg(figure)
    for i in range(shown):
        axes = figure.add_subplot(rows, columns, i + 1)
        axes.imshow(pictures[i], cmap="gray", interpolation="none")
        axes.axis("off")
        right = guesses[i] == truth[i]
        axes.set_title(f"{guesses[i]}" if right else f"{guesses[i]} ({truth[i]})",
                       color=RIGHT_COLOUR if right else WRONG_COLOUR, fontsize=14)
    wrong = int((guesses != truth).sum())
    figure.suptitle(title if title is not None else DEFAULT_TITLE.format(shown=shown, wrong=wrong),
                    fontsize=13)
    figure.tight_layout()

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png", dpi=80)
    return target


def save_rebuilt_grid(rows: Sequence[tuple[str, Any]], path: str | Path, *, title: str) -> Path:
    """Save a PNG with one row of digits per ``(label, images)`` pair, the label over the
    row's first digit; ``images`` are (N, 784) grey levels in [0, 1]. Creates the parent
    folder; returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [(label, _as_numpy(images)) for label, images in rows]
    columns = max(len(images) for _, images in rows)
    figure = Figure(figsize=(1.3 * columns, 1.55 * len(rows) + 0.5))
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(len(rows), columns)
    for r, (label, images) in enumerate(rows):
        for c, image in enumerate(images):
            axes = figure.add_subplot(grid[r, c])
            axes.imshow(image.reshape(IMAGE_SIDE, IMAGE_SIDE), cmap="gray", vmin=0, vmax=1,
                        interpolation="none")
            axes.set_xticks([])
            axes.set_yticks([])
            if c == 0:
                axes.set_title(label, fontsize=11, loc="left")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, format="png", dpi=80)
    return target


def _as_numpy(values: Any) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        values = values.detach().cpu().numpy()
    return np.asarray(values)

"""The MNIST digits the kit trains and grades on, split and normalised the way the lesson does.

``load_mnist()`` returns the 5,000 embedded digits (``data/mnist_5k.npz``, see
``data/README.md``) as a fixed, stratified split: 4,000 training digits (400 per class) and
1,000 held-out digits (100 per class). The split depends on nothing but the file and
``SPLIT_SEED``, so every machine grades on the same digits. ``source="full"`` loads the
70,000-digit MNIST through torchvision where it imports, and falls back to the embedded
digits (saying so on stderr) where it does not; torchvision is never a dependency.

Pixels are scaled to [0, 1] and then normalised with the *training* set's scalar mean and
standard deviation, applied to both parts: the held-out digits must be seen through the
statistics the model was trained with, so their mean is close to, but not exactly, 0.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from grader.paths import DATA_DIR
from grader.settings import env_name, resolve_one

DATA_DIR_ENV = env_name("data_dir")
EMBEDDED_FILE = "mnist_5k.npz"
SOURCES = ("embedded", "full")
SPLIT_SEED = 20231
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100
N_CLASSES, IMAGE_SIDE = 10, 28
FALLBACK_MESSAGE = "torchvision is not usable here ({error}); using the 5,000 embedded digits instead"


@dataclass(frozen=True)
class MnistSplit:
    """A training part and a held-out part, normalised with the training statistics.

    ``train_x``/``test_x`` are float32 tensors (N, 784); ``train_y``/``test_y`` int64 tensors
    (N,) of digits 0-9. ``mean`` and ``std`` are the training pixels' statistics (after
    scaling to [0, 1]) that both parts were normalised with. ``source`` says what was
    actually loaded: ``"embedded"`` or ``"full"``.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    mean: float
    std: float
    source: str


def data_dir() -> Path:
    """The folder holding the embedded data: the ``data_dir`` setting (``$GRADER_DATA_DIR`` or
    ``[tool.grader]``), else the kit's ``data/`` (a checkout or an editable install), else
    ``<prefix>/share/linalg-kit/data`` (where a wheel installs it: ``grader.paths``)."""
    override = resolve_one("data_dir")
    return Path(override) if override else DATA_DIR


def load_mnist(*, source: str = "embedded", root: str | None = None, download: bool = False) -> MnistSplit:
    """Load MNIST digits as a normalised :class:`MnistSplit`.

    ``source="embedded"``: the 5,000 digits of ``mnist_5k.npz`` in ``root`` (default
    :func:`data_dir`), split 4,000/1,000. ``source="full"``: torchvision's MNIST (60,000
    training, 10,000 test digits) in its folder ``root`` (default :func:`data_dir`), fetched
    there when ``download`` is true; where torchvision cannot be imported, one line on
    stderr and the embedded split from :func:`data_dir` instead. ``ValueError`` for an
    unknown source; ``FileNotFoundError`` when the embedded file is missing.

    >>> split = load_mnist()
    >>> split.train_x.shape, split.test_x.shape, split.train_y.dtype
    (torch.Size([4000, 784]), torch.Size([1000, 784]), torch.int64)
    """
    if source not in SOURCES:
        raise ValueError(f"unknown MNIST source {source!r}; choose one of {', '.join(SOURCES)}")
    folder = Path(root) if root is not None else data_dir()
    if source == "full":
        try:
            from torchvision.datasets import MNIST
        except Exception as error:  # a CUDA/CPU build mismatch raises RuntimeError, not ImportError
            print(FALLBACK_MESSAGE.format(error=f"{type(error).__name__}: {error}"), file=sys.stderr)
            folder = data_dir()  # ``root`` named torchvision's folder, not the embedded one
        else:
            train = MNIST(str(folder), train=True, download=download)
            test = MNIST(str(folder), train=False, download=download)
            return _normalised(train.data.numpy(), train.targets.numpy(),
                               test.data.numpy(), test.targets.numpy(), source="full")
    images, labels = _read_embedded(str(folder / EMBEDDED_FILE))
    train_idx, test_idx = split_indices(labels)
    return _normalised(images[train_idx], labels[train_idx],
                       images[test_idx], labels[test_idx], source="embedded")


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed stratified split of the embedded digits: (train, held-out) row indices.

    Within each class, in class order, one generator seeded with ``SPLIT_SEED`` permutes
    that class's rows; the first 400 go to training and the next 100 are held out. Each
    part is then shuffled by the same generator so that classes are interleaved.
    """
    rng = np.random.default_rng(SPLIT_SEED)
    train, test = [], []
    for digit in range(N_CLASSES):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        if len(rows) < TRAIN_PER_CLASS + TEST_PER_CLASS:
            raise ValueError(f"digit {digit} has {len(rows)} images; the split needs "
                             f"{TRAIN_PER_CLASS + TEST_PER_CLASS}")
        train.append(rows[:TRAIN_PER_CLASS])
        test.append(rows[TRAIN_PER_CLASS:TRAIN_PER_CLASS + TEST_PER_CLASS])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


@functools.lru_cache(maxsize=4)
def _read_embedded(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The npz's uint8 images and labels, read once per process (and made read-only)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} is missing; the embedded MNIST digits ship in the kit's "
                                f"data/ folder (or set {DATA_DIR_ENV} to where they are)")
    with np.load(path, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def _normalised(train_images: np.ndarray, train_labels: np.ndarray,
                test_images: np.ndarray, test_labels: np.ndarray, *, source: str) -> MnistSplit:
    train_x = train_images.reshape(len(train_images), -1).astype(np.float32) / 255
    test_x = test_images.reshape(len(test_images), -1).astype(np.float32) / 255
    mean, std = float(train_x.mean(dtype=np.float64)), float(train_x.std(dtype=np.float64))
    return MnistSplit(
        train_x=torch.from_numpy((train_x - mean) / std),
        train_y=torch.from_numpy(train_labels.astype(np.int64)),
        test_x=torch.from_numpy((test_x - mean) / std),
        test_y=torch.from_numpy(test_labels.astype(np.int64)),
        mean=mean, std=std, source=source,
    )

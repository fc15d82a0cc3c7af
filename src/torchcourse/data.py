"""The course's datasets: shipped in datasets/, verified, unpacked once, never downloaded."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from torchvision import datasets

from torchcourse.errors import CourseError
from torchcourse.paths import cache_dir, course_root

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
RESTORE = "restore it with `git checkout -- datasets/mnist` (or copy it from a fresh clone)"


class DatasetError(CourseError):
    """A shipped dataset file is missing or corrupt."""


def mnist_dir() -> Path:
    """The folder holding the shipped MNIST .gz files and their SHA256SUMS."""
    return course_root() / "datasets" / "mnist"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _expected_sums(folder: Path) -> dict[str, str]:
    sums_file = folder / "SHA256SUMS"
    if not sums_file.is_file():
        raise DatasetError(f"{sums_file} is missing: {RESTORE}.")
    sums = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.lstrip("*")] = digest
    return sums


def verify_mnist(folder: Path | None = None) -> dict[str, str]:
    """Check every shipped MNIST file against SHA256SUMS; return {name: sha256}.

    Raises DatasetError naming the first missing or corrupt file and the fix.
    """
    folder = folder or mnist_dir()
    sums = _expected_sums(folder)
    for name in MNIST_FILES:
        path = folder / name
        if name not in sums:
            raise DatasetError(f"{folder / 'SHA256SUMS'} has no line for {name}: {RESTORE}.")
        if not path.is_file():
            raise DatasetError(f"{path} is missing: {RESTORE}.")
        if _sha256(path) != sums[name]:
            raise DatasetError(
                f"{path} is corrupt (its SHA256 does not match SHA256SUMS: truncated or "
                f"altered): {RESTORE}."
            )
    return {name: sums[name] for name in MNIST_FILES}


def _unpack(source: Path, target: Path) -> None:
    """Decompress source to target atomically, so parallel readers never see half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        with gzip.open(source, "rb") as packed:
            shutil.copyfileobj(packed, tmp)
    os.replace(tmp.name, target)


def prepare_mnist(root: Path | None = None) -> Path:
    """Verify the shipped files and unpack them once into root/MNIST/raw (torchvision's layout).

    Returns root, ready for `torchvision.datasets.MNIST(root, download=False)`.
    """
    root = root or cache_dir()
    sums = verify_mnist()
    raw = root / "MNIST" / "raw"
    stamp = raw / ".unpacked-from"
    wanted = "\n".join(f"{sums[name]}  {name}" for name in MNIST_FILES)
    unpacked = [raw / name.removesuffix(".gz") for name in MNIST_FILES]
    if stamp.is_file() and stamp.read_text() == wanted and all(p.is_file() for p in unpacked):
        return root
    for name, target in zip(MNIST_FILES, unpacked):
        _unpack(mnist_dir() / name, target)
    stamp.write_text(wanted)
    return root


def mnist(train: bool = True, transform=None, target_transform=None) -> datasets.MNIST:
    """torchvision's MNIST (train: 60,000 images; test: 10,000) from the shipped files."""
    return datasets.MNIST(
        prepare_mnist(),
        train=train,
        transform=transform,
        target_transform=target_transform,
        download=False,
    )

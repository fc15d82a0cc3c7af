"""The course's datasets: shipped with the course, verified, unpacked once, never downloaded.

The MNIST files and their SHA256SUMS live in datasets/mnist in a checkout and in
torchcourse/datasets/mnist in an installed package (the wheel carries them). They are unpacked
into a cache (torchvision's layout) with the size and SHA256 of each unpacked file recorded;
every load re-checks both, and unpacks again when a file no longer matches.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import json
import os
import re
from pathlib import Path

from torchcourse.errors import CourseError
from torchcourse.i18n import N_, _
from torchcourse.paths import CACHE_ENV, cache_dir, find_course_root
from torchcourse.tmpfiles import remove_stale, tmp_path

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
PACKAGE_DATA = Path(__file__).with_name("datasets")
RESTORE = N_("restore it with `git checkout -- datasets/mnist` (or copy it from a fresh clone)")
REINSTALL = N_("reinstall the course package (`pip install --force-reinstall --no-deps` it)")
STAMP = ".unpacked.json"  # {"source": {gz name: sha256}, "files": {name: {size, sha256}}}
_SUM_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *]?(\S+)$")


class DatasetError(CourseError):
    """A shipped dataset file is missing or corrupt, or the cache cannot be written."""


def mnist_dir() -> Path:
    """The folder holding the MNIST .gz files and SHA256SUMS: the checkout's datasets/mnist,
    else the installed package's copy."""
    root = find_course_root()
    checkout = root / "datasets" / "mnist" if root is not None else None
    if checkout is not None and checkout.is_dir():
        return checkout
    packaged = PACKAGE_DATA / "mnist"
    if packaged.is_dir() or checkout is None:
        return packaged
    return checkout


def _fix(folder: Path) -> str:
    return _(REINSTALL if folder.is_relative_to(PACKAGE_DATA) else RESTORE)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _expected_sums(folder: Path) -> dict[str, str]:
    sums_file = folder / "SHA256SUMS"
    try:
        text = sums_file.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DatasetError(
            _("{path} is missing: {fix}.").format(path=sums_file, fix=_fix(folder))
        ) from None
    except UnicodeDecodeError:
        raise DatasetError(
            _("{path} is not text (not UTF-8): {fix}.").format(path=sums_file, fix=_fix(folder))
        ) from None
    except OSError as err:
        raise DatasetError(
            _("cannot read {path} ({reason}): {fix}.").format(
                path=sums_file, reason=err.strerror, fix=_fix(folder)
            )
        ) from None
    sums = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _SUM_LINE.match(line.strip())
        if not match:
            raise DatasetError(
                _("{path} line {number} is not '<sha256>  <file name>': {fix}.").format(
                    path=sums_file, number=number, fix=_fix(folder)
                )
            )
        sums[match[2].lstrip("*")] = match[1].lower()
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
            raise DatasetError(
                _("{path} has no line for {name}: {fix}.").format(
                    path=folder / "SHA256SUMS", name=name, fix=_fix(folder)
                )
            )
        if not path.is_file():
            raise DatasetError(_("{path} is missing: {fix}.").format(path=path, fix=_fix(folder)))
        try:
            actual = _sha256(path)
        except OSError as err:
            raise DatasetError(
                _("cannot read {path} ({reason}): {fix}.").format(
                    path=path, reason=err.strerror, fix=_fix(folder)
                )
            ) from None
        if actual != sums[name]:
            raise DatasetError(
                _(
                    "{path} is corrupt (its SHA256 does not match SHA256SUMS: truncated or "
                    "altered): {fix}."
                ).format(path=path, fix=_fix(folder))
            )
    return {name: sums[name] for name in MNIST_FILES}


def _write_atomically(target: Path, chunks) -> dict:
    """Write the byte chunks to target via a temporary file; return its size and SHA256.

    The file gets the usual permissions (0666 less the umask), so a shared cache stays
    readable by its other users; a reader never sees half a file.
    """
    tmp = tmp_path(target)
    digest, size = hashlib.sha256(), 0
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return {"size": size, "sha256": digest.hexdigest()}


def _gunzipped(source: Path):
    with gzip.open(source, "rb") as packed:
        yield from iter(lambda: packed.read(1 << 20), b"")


def _unpacked_ok(raw: Path, sums: dict[str, str]) -> bool:
    """True when the stamp matches the shipped files and each unpacked file its size and SHA256."""
    try:
        stamp = json.loads((raw / STAMP).read_text(encoding="utf-8"))
        if stamp["source"] != sums:
            return False
        for name in MNIST_FILES:
            target, want = raw / name.removesuffix(".gz"), stamp["files"][name]
            if target.stat().st_size != want["size"] or _sha256(target) != want["sha256"]:
                return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def _unpack_all(folder: Path, raw: Path, sums: dict[str, str]) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    remove_stale(raw, ".*.tmp")  # half-written files of a killed unpack
    files = {
        name: _write_atomically(raw / name.removesuffix(".gz"), _gunzipped(folder / name))
        for name in MNIST_FILES
    }
    stamp = json.dumps({"source": sums, "files": files}, indent=1).encode()
    _write_atomically(raw / STAMP, [stamp])


def _cache_error(root: Path, err: OSError) -> DatasetError:
    where = f"{CACHE_ENV}={root}" if os.environ.get(CACHE_ENV) else str(root)
    if err.errno == errno.ENOSPC:
        problem = _("the disk holding {where} is full").format(where=where)
        return DatasetError(
            _(
                "{problem}: free some space, or set {variable} to a folder on another disk "
                "(MNIST needs about 55 MB unpacked)."
            ).format(problem=problem, variable=CACHE_ENV)
        )
    if isinstance(err, (NotADirectoryError, FileExistsError)):
        problem = _("{where} is not a folder (a file is in the way: {path})").format(
            where=where, path=err.filename
        )
    else:
        problem = _("cannot unpack MNIST into {where} ({reason})").format(
            where=where, reason=err.strerror or type(err).__name__
        )
    return DatasetError(
        _(
            "{problem}: make it a writable folder, or set {variable} to a folder you can write."
        ).format(problem=problem, variable=CACHE_ENV)
    )


def prepare_mnist(root: Path | None = None) -> Path:
    """Verify the shipped files and their unpacked copies in root/MNIST/raw (torchvision's
    layout), unpacking again what is missing or damaged.

    Returns root, ready for `torchvision.datasets.MNIST(root, download=False)`.
    """
    root = root or cache_dir()
    folder = mnist_dir()
    sums = verify_mnist(folder)
    raw = root / "MNIST" / "raw"
    if _unpacked_ok(raw, sums):
        return root
    try:
        try:
            _unpack_all(folder, raw, sums)
        except FileNotFoundError:  # the cache was deleted meanwhile: once more
            _unpack_all(folder, raw, sums)
    except OSError as err:
        raise _cache_error(root, err) from None
    return root


def mnist(train: bool = True, transform=None, target_transform=None):
    """torchvision's MNIST (train: 60,000 images; test: 10,000) from the shipped files."""
    try:  # imported here: `torchcourse doctor` must work when torchvision is broken
        from torchvision import datasets
    except Exception as err:
        raise DatasetError(
            _(
                "torchvision does not import ({error_type}: {error}): install the torchvision "
                "release built for your torch (`torchcourse doctor` says which)."
            ).format(error_type=type(err).__name__, error=" ".join(str(err).split()))
        ) from None
    return datasets.MNIST(
        prepare_mnist(),
        train=train,
        transform=transform,
        target_transform=target_transform,
        download=False,
    )

"""The shipped MNIST: verified, unpacked once, offline, and clear when damaged."""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from faults import one_line, read_only

from torchcourse import data
from torchcourse.data import MNIST_FILES, DatasetError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    """A course root whose datasets/mnist is a private copy the test may damage."""
    (tmp_path / "lessons.yml").write_text("")
    shutil.copytree(ROOT / "datasets" / "mnist", tmp_path / "datasets" / "mnist")
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    monkeypatch.setenv("TORCHCOURSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "datasets" / "mnist"


def test_loads_both_splits_offline(no_network, course_copy):
    train, test = data.mnist(train=True), data.mnist(train=False)
    assert (len(train), len(test)) == (60_000, 10_000)
    image, label = train[0]
    assert image.size == (28, 28) and label == 5
    assert train.data.dtype == torch.uint8 and int(test.targets.bincount().sum()) == 10_000


def test_unpacks_once(course_copy):
    data.prepare_mnist()
    raw = course_copy.parents[1] / "cache" / "MNIST" / "raw"
    before = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    data.prepare_mnist()
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == before


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _alter(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))


@pytest.mark.parametrize("name", MNIST_FILES)
@pytest.mark.parametrize(
    ("damage", "words"),
    [(_truncate, "is corrupt"), (_alter, "is corrupt"), (Path.unlink, "is missing")],
    ids=["truncated", "altered", "missing"],
)
def test_damage_gives_one_clear_line(course_copy, name, damage, words):
    damage(course_copy / name)
    with pytest.raises(DatasetError) as caught:
        data.mnist(train=name.startswith("train"))
    message = str(caught.value)
    assert "\n" not in message
    assert f"{name} {words}" in message
    assert "git checkout -- datasets/mnist" in message
    assert caught.value._render_traceback_() == [f"DatasetError: {message}"]


def test_missing_checksum_file_is_named(course_copy):
    (course_copy / "SHA256SUMS").unlink()
    with pytest.raises(DatasetError, match="SHA256SUMS is missing"):
        data.verify_mnist()


# Faults of the shipped files' checksum list, and of the cache of unpacked files.


def _raw(course_copy: Path) -> Path:
    return course_copy.parents[1] / "cache" / "MNIST" / "raw"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (b"not a checksum line\n", "SHA256SUMS line 1 is not '<sha256>  <file name>'"),
        (b"\xff\xfe\x00garbage\x80\n", "SHA256SUMS is not text (not UTF-8)"),
        (b"", "SHA256SUMS has no line for train-images-idx3-ubyte.gz"),
    ],
    ids=["malformed", "not-utf8", "empty"],
)
def test_a_broken_checksum_list_is_one_line(course_copy, text, words):
    (course_copy / "SHA256SUMS").write_bytes(text)
    with pytest.raises(DatasetError) as caught:
        data.mnist()
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert "git checkout -- datasets/mnist" in str(caught.value)


def test_an_overwritten_unpacked_file_is_never_served(course_copy):
    """Labels overwritten past their header (same size) would make every label 7."""
    data.prepare_mnist()
    labels = _raw(course_copy) / "train-labels-idx1-ubyte"
    blob = labels.read_bytes()
    labels.write_bytes(blob[:8] + b"\x07" * (len(blob) - 8))
    train = data.mnist(train=True)
    assert train.targets.bincount().tolist()[:3] == [5923, 6742, 5958]
    assert labels.read_bytes() == blob


@pytest.mark.parametrize("damage", ["truncated", "deleted", "stamp garbled"])
def test_a_damaged_cache_is_unpacked_again(course_copy, damage):
    data.prepare_mnist()
    raw = _raw(course_copy)
    images = raw / "t10k-images-idx3-ubyte"
    blob = images.read_bytes()
    if damage == "truncated":
        _truncate(images)
    elif damage == "deleted":
        images.unlink()
    else:
        (raw / data.STAMP).write_text("{not json")
    assert len(data.mnist(train=False)) == 10_000
    assert images.read_bytes() == blob


def test_unpacked_files_are_readable_by_the_other_users_of_a_shared_cache(course_copy):
    old = os.umask(0o022)
    try:
        data.prepare_mnist()
    finally:
        os.umask(old)
    for path in _raw(course_copy).iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def test_a_cache_deleted_while_unpacking_heals_itself(course_copy, monkeypatch):
    real, calls = data._gunzipped, []

    def vanishing(source):
        calls.append(source.name)
        if len(calls) == 2:  # half way through: someone empties the cache
            shutil.rmtree(_raw(course_copy))
        yield from real(source)

    monkeypatch.setattr(data, "_gunzipped", vanishing)
    assert len(data.mnist(train=True)) == 60_000
    assert len(calls) > len(MNIST_FILES)


def test_stale_temporary_files_in_the_cache_are_removed(course_copy):
    data.prepare_mnist()
    stale = _raw(course_copy) / ".train-images-idx3-ubyte.0badc0de.tmp"
    fresh = _raw(course_copy) / ".t10k-images-idx3-ubyte.0ddba11.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half a file")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    (_raw(course_copy) / data.STAMP).unlink()  # so that the next load unpacks
    data.prepare_mnist()
    assert not stale.exists() and fresh.exists(), "only a copy a killed run left is removed"


def test_an_unwritable_cache_is_one_line(course_copy):
    cache = course_copy.parents[1] / "cache"
    cache.mkdir()
    with read_only(cache):
        with pytest.raises(DatasetError) as caught:
            data.mnist()
    message = str(caught.value)
    assert "\n" not in message and message.startswith("cannot unpack MNIST into TORCHCOURSE_CACHE=")
    assert "set TORCHCOURSE_CACHE to a folder you can write" in message


def test_a_cache_that_is_a_file_is_one_line(course_copy, monkeypatch, tmp_path):
    monkeypatch.setenv("TORCHCOURSE_CACHE", str(tmp_path / "notes.txt"))
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError) as caught:
        data.mnist()
    assert "is not a folder (a file is in the way" in str(caught.value)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def _doctor(env: dict[str, str], cwd: Path, code: str = "") -> subprocess.CompletedProcess:
    """`torchcourse doctor` in a fresh interpreter (code runs first)."""
    program = f"import sys\n{code}\nfrom torchcourse.cli import main\nsys.exit(main(['doctor']))"
    return subprocess.run(
        [sys.executable, "-c", program], env=env, cwd=cwd, capture_output=True, text=True
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHCOURSE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    return {**env, **extra}


def _doctor_here(monkeypatch, capsys, cwd: Path, **env: str) -> tuple[int, str, str]:
    """`torchcourse doctor` as its command line runs it, in this process (a fresh interpreter
    costs seconds), from cwd with no TORCHCOURSE_ variable but env: status, stdout, stderr."""
    from torchcourse.cli import main

    for name in [n for n in os.environ if n.startswith("TORCHCOURSE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    status = main(["doctor"])
    return (status, *capsys.readouterr())


def test_doctor_names_a_broken_checksum_list_in_one_line(course_copy, monkeypatch, capsys):
    (course_copy / "SHA256SUMS").write_bytes(b"\xff\xfe garbage")
    root = str(course_copy.parents[1])
    status, out, err = _doctor_here(monkeypatch, capsys, course_copy, TORCHCOURSE_ROOT=root)
    assert status == 1 and "Traceback" not in out + err
    assert re.search(r"^mnist +.*SHA256SUMS is not text", out, re.MULTILINE)


def test_doctor_survives_a_torchvision_that_does_not_import(tmp_path):
    """In a fresh interpreter: no module imported before doctor may need torchvision."""
    done = _doctor(_env(), ROOT, "sys.modules['torchvision'] = None")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    broken = r"^torchvision +does not import \((ModuleNotFound|Import)Error"
    assert re.search(broken, done.stdout, re.MULTILINE)
    assert re.search(r"^mnist +4 files, checksums OK", done.stdout, re.MULTILINE)


def test_doctor_on_a_folder_that_is_not_a_course(tmp_path, monkeypatch, capsys):
    """TORCHCOURSE_ROOT pointing at some other folder: said as such, not as missing data."""
    status, out, err = _doctor_here(monkeypatch, capsys, tmp_path, TORCHCOURSE_ROOT=str(tmp_path))
    assert status == 1 and "Traceback" not in out + err
    assert f"TORCHCOURSE_ROOT={tmp_path} has no lessons.yml" in out
    assert re.search(r"^mnist +not checked: fix the course first$", out, re.MULTILINE)
    assert "SHA256SUMS" not in out


def test_a_dataset_error_under_plain_python_is_one_line(tmp_path):
    """`python -c` or a script: the same one line as in a notebook, not a traceback."""
    code = (
        "from pathlib import Path\n"
        "from torchcourse.data import verify_mnist\n"
        f"verify_mnist(Path({str(tmp_path)!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert line.startswith("DatasetError: ") and "SHA256SUMS is missing" in line


def test_other_errors_keep_their_traceback():
    done = subprocess.run(
        [sys.executable, "-c", "import torchcourse.data\nraise ValueError('mine')"],
        capture_output=True,
        text=True,
    )
    assert "Traceback" in done.stderr and "ValueError: mine" in done.stderr


def test_a_full_disk_names_the_cache_and_says_it_is_full(course_copy, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(data, "_write_atomically", no_space)
    cache = course_copy.parents[1] / "cache"
    with pytest.raises(DatasetError) as caught:
        data.prepare_mnist(cache)
    message = str(caught.value)
    assert "is full" in message and str(cache) in message
    assert "None" not in message and "\n" not in message


def test_half_written_files_of_a_killed_unpack_are_removed_at_once(course_copy):
    """The writer of a temporary file is gone: no need to wait for it to grow old."""
    cache = course_copy.parents[1] / "cache"
    data.prepare_mnist(cache)
    raw = cache / "MNIST" / "raw"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    left = raw / f".train-images-idx3-ubyte.{dead}-0badcafe.tmp"
    left.write_bytes(b"half")
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"damaged")  # so the next load unpacks
    data.prepare_mnist(cache)
    assert not left.exists()

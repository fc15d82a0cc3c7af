"""The shipped MNIST: verified, unpacked once, offline, and clear when damaged."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest
import torch

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

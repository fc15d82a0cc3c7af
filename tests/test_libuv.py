"""Chapter 08's process group on Windows: PyTorch's Windows wheels lack libuv, TCPStore's
default backend, so the helpers ask for the other one there (and wherever USE_LIBUV=0)."""

from __future__ import annotations

import sys
from datetime import timedelta

import torch.distributed as dist

from torchcourse.distributed import HOST, use_libuv


def test_libuv_is_off_on_windows_and_where_use_libuv_says_so(monkeypatch):
    monkeypatch.delenv("USE_LIBUV", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert use_libuv()
    monkeypatch.setenv("USE_LIBUV", "0")
    assert not use_libuv()
    monkeypatch.delenv("USE_LIBUV")
    monkeypatch.setattr(sys, "platform", "win32")
    assert not use_libuv()


def test_a_store_without_libuv_works_here(monkeypatch):
    """The store Windows gets, made for real on this machine."""
    monkeypatch.setenv("USE_LIBUV", "0")
    store = dist.TCPStore(
        HOST, 0, 1, is_master=True, timeout=timedelta(seconds=10), wait_for_workers=False,
        use_libuv=use_libuv(),
    )  # fmt: skip
    store.set("key", "value")
    assert store.get("key") == b"value" and store.libuvBackend is False

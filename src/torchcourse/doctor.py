"""`torchcourse doctor`: is this machine ready for the course?"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import torch

from torchcourse.device import DEVICE_ENV, chosen_device, device_name
from torchcourse.errors import CourseError
from torchcourse.paths import MANIFEST, ROOT_ENV, find_course_root


def _torchvision_line() -> tuple[bool, str]:
    try:
        import torchvision
    except Exception as err:  # a mismatched build fails at import
        detail = " ".join(str(err).split())[:160]
        return (
            False,
            f"does not import ({type(err).__name__}: {detail}): "
            "install the torchvision release built for your torch.",
        )
    major, minor = (int(x) for x in torch.__version__.split(".")[:2])
    want = f"0.{minor + 15}" if major == 2 else "?"
    have = ".".join(torchvision.__version__.split(".")[:2])
    ok = have == want
    verdict = (
        "matches" if ok else f"does not match (torch {major}.{minor} needs torchvision {want})"
    )
    return ok, f"{torchvision.__version__} {verdict} torch {torch.__version__}"


def _accelerator_line() -> tuple[bool, str]:
    """The accelerator torch.accelerator finds (CUDA, MPS, XPU, ...) and the lessons' device."""
    found = torch.accelerator.current_accelerator(check_available=True)
    if found is None:
        line = "none usable: the lessons run on the CPU"
    else:
        count = torch.accelerator.device_count()
        names = ", ".join(device_name(torch.device(found.type, i)) for i in range(count))
        line = f"{found.type}: {names}"
    try:
        device = chosen_device()
    except CourseError as err:
        return False, f"{line}; {err}"
    forced = f" ({DEVICE_ENV} forces it)" if device.type != getattr(found, "type", "cpu") else ""
    return True, f"{line}; pick_device() gives {device.type}{forced}"


def _course_line() -> tuple[bool, str]:
    root = find_course_root()
    if root is None:
        return True, (
            f"none here (no {MANIFEST} in this folder or above): the notebooks run from the "
            "installed package; for `start` and `progress`, cd into your clone of the course"
        )
    if not (root / MANIFEST).is_file():
        return False, f"{ROOT_ENV}={root} has no {MANIFEST}: point it at your clone, or unset it"
    return True, str(root)


def _mnist_line() -> tuple[bool, str]:
    """The shipped files against SHA256SUMS, and their unpacked copies (unpacked again when
    missing or damaged)."""
    from torchcourse.data import MNIST_FILES, mnist_dir, prepare_mnist

    try:
        cache = prepare_mnist()
    except CourseError as err:
        return False, str(err)
    return True, (
        f"{len(MNIST_FILES)} files, checksums OK ({_shown(mnist_dir())}); unpacked copy "
        f"verified ({_shown(cache)})"
    )


def _shown(path: Path) -> str:
    """path relative to the course folder when inside it, else in full."""
    root = find_course_root()
    try:
        return path.resolve().relative_to(root.resolve()).as_posix() if root else str(path)
    except ValueError:
        return str(path)


def doctor() -> int:
    """Print versions, the accelerator, the course folder and the dataset checksums; 0 when
    all is well."""
    print(f"python       {sys.version.split()[0]} ({platform.machine()})")
    print(f"torch        {torch.__version__} (CUDA build: {torch.version.cuda or 'no'})")
    course = _course_line()
    rows = {
        "torchvision": _torchvision_line(),
        "accelerator": _accelerator_line(),
        "course": course,
        "mnist": _mnist_line() if course[0] else (True, "not checked: fix the course first"),
    }
    for name, (_, line) in rows.items():
        print(f"{name:<12} {line}")
    problems = sum(not ok for ok, _ in rows.values())
    print("all good" if not problems else f"{problems} problem(s) found")
    return 1 if problems else 0

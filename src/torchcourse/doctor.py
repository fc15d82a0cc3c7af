"""`torchcourse doctor`: is this machine ready for the course?"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import torch

from torchcourse.device import DEVICE_ENV, chosen_device, device_name
from torchcourse.errors import CourseError
from torchcourse.i18n import N_, _, pad
from torchcourse.paths import MANIFEST, ROOT_ENV, find_course_root


def _torchvision_line() -> tuple[bool, str]:
    try:
        import torchvision
    except Exception as err:  # a mismatched build fails at import
        detail = " ".join(str(err).split())[:160]
        return (
            False,
            _(
                "does not import ({error_type}: {detail}): install the torchvision release "
                "built for your torch."
            ).format(error_type=type(err).__name__, detail=detail),
        )
    major, minor = (int(x) for x in torch.__version__.split(".")[:2])
    want = f"0.{minor + 15}" if major == 2 else "?"
    have = ".".join(torchvision.__version__.split(".")[:2])
    ok = have == want
    if ok:
        return ok, _("{have} matches torch {torch}").format(
            have=torchvision.__version__, torch=torch.__version__
        )
    return ok, _(
        "{have} does not match (torch {major}.{minor} needs torchvision {want}) torch {torch}"
    ).format(
        have=torchvision.__version__, major=major, minor=minor, want=want, torch=torch.__version__
    )


def _accelerator_line() -> tuple[bool, str]:
    """The accelerator torch.accelerator finds (CUDA, MPS, XPU, ...) and the lessons' device."""
    found = torch.accelerator.current_accelerator(check_available=True)
    if found is None:
        line = _("none usable: the lessons run on the CPU")
    else:
        count = torch.accelerator.device_count()
        names = ", ".join(device_name(torch.device(found.type, i)) for i in range(count))
        line = f"{found.type}: {names}"
    try:
        device = chosen_device()
    except CourseError as err:
        return False, f"{line}; {err}"
    if device.type != getattr(found, "type", "cpu"):
        return True, _("{line}; pick_device() gives {kind} ({variable} forces it)").format(
            line=line, kind=device.type, variable=DEVICE_ENV
        )
    return True, _("{line}; pick_device() gives {kind}").format(line=line, kind=device.type)


def _course_line() -> tuple[bool, str]:
    root = find_course_root()
    if root is None:
        return True, _(
            "none here (no {manifest} in this folder or above): the notebooks run from the "
            "installed package; for `start` and `progress`, cd into your clone of the course"
        ).format(manifest=MANIFEST)
    if not (root / MANIFEST).is_file():
        return False, _(
            "{variable}={root} has no {manifest}: point it at your clone, or unset it"
        ).format(variable=ROOT_ENV, root=root, manifest=MANIFEST)
    return True, str(root)


def _mnist_line() -> tuple[bool, str]:
    """The shipped files against SHA256SUMS, and their unpacked copies (unpacked again when
    missing or damaged)."""
    from torchcourse.data import MNIST_FILES, mnist_dir, prepare_mnist

    try:
        cache = prepare_mnist()
    except CourseError as err:
        return False, str(err)
    return True, _(
        "{count} files, checksums OK ({folder}); unpacked copy verified ({cache})"
    ).format(count=len(MNIST_FILES), folder=_shown(mnist_dir()), cache=_shown(cache))


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
    cuda = torch.version.cuda or _("none (a CPU build)")
    print(f"{pad('python', 12)} {sys.version.split()[0]} ({platform.machine()})")
    print(
        f"{pad('torch', 12)} "
        + _("{version} (CUDA build: {cuda})").format(version=torch.__version__, cuda=cuda)
    )
    course = _course_line()
    rows = {
        "torchvision": _torchvision_line(),
        N_("accelerator"): _accelerator_line(),
        N_("course"): course,
        "mnist": _mnist_line() if course[0] else (True, _("not checked: fix the course first")),
    }
    for name, (_ok, line) in rows.items():
        print(f"{pad(_(name), 12)} {line}")
    problems = sum(not ok for ok, _line in rows.values())
    print(_("all good") if not problems else _("{count} problem(s) found").format(count=problems))
    return 1 if problems else 0

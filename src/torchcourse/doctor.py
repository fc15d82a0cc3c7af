"""`torchcourse doctor`: is this machine ready for the course?"""

from __future__ import annotations

import platform
import sys

import torch

from torchcourse.data import MNIST_FILES, DatasetError, verify_mnist


def _torchvision_line() -> tuple[bool, str]:
    try:
        import torchvision
    except Exception as err:  # a mismatched build fails at import
        return (
            False,
            f"torchvision does not import ({type(err).__name__}: {err}): "
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


def doctor() -> int:
    """Print versions, the GPU situation and the dataset checksums; 0 when all is well."""
    problems = 0
    print(f"python       {sys.version.split()[0]} ({platform.machine()})")
    print(f"torch        {torch.__version__} (CUDA build: {torch.version.cuda or 'no'})")
    ok, line = _torchvision_line()
    problems += not ok
    print(f"torchvision  {line}")
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        print(f"cuda         available: {names}")
    else:
        print("cuda         not available: the lessons run on the CPU")
    try:
        verify_mnist()
        print(f"mnist        {len(MNIST_FILES)} files, checksums OK")
    except DatasetError as err:
        problems += 1
        print(f"mnist        {err}")
    print("all good" if not problems else f"{problems} problem(s) found")
    return 1 if problems else 0

"""The wheel alone runs a student notebook: what Colab, Kaggle and a plain `pip install` do.

The wheel is built from a copy of the checkout with the environment's own setuptools (no
network), installed without dependencies into a scratch folder, and a student notebook with an
extra MNIST cell passes nbval from a folder outside any course, with no checkout importable or
findable and no network. With TORCHCOURSE_WHEEL set (the release workflow), these tests and
test_setup_install.py test that wheel, the one about to be published, instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
from setuptools import find_packages

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib

import torchcourse
from torchcourse.data import MNIST_FILES

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "chapters" / "01-tensors" / "01-tensors.ipynb"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Imported first by every Python of the standalone run (the pytest process and the kernel).
GUARD = '''\
"""Hide every course checkout from imports, and refuse the network (loopback excepted)."""
import socket
import sys
from pathlib import Path

def _checkout(entry):
    return (Path(entry or ".").resolve().parent / "lessons.yml").is_file()


sys.path[:] = [p for p in sys.path if not _checkout(p)]
# setuptools' editable installs add a finder class (or instance) to sys.meta_path
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in getattr(f, "__module__", "")]
LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "", None}


def _refuse(host):
    if host not in LOCAL:
        raise OSError(f"no network in this test (asked for {host!r})")


_connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _refuse(address[0])
    return _connect(self, address)


def getaddrinfo(host, *args, **kwargs):
    _refuse(host)
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
'''

# Appended to the student notebook; its stored output is what the run must print.
DATA_CELL = """\
import os
import socket
from pathlib import Path

import torchcourse
from torchcourse import lenet
from torchcourse.data import mnist, mnist_dir

package = Path(torchcourse.__file__).resolve().parent
assert package.is_relative_to(Path(os.environ["STANDALONE_SCRATCH"]).resolve()), package
assert mnist_dir().resolve().is_relative_to(package), mnist_dir()
assert not [name for name in os.environ if name.startswith("TORCHCOURSE_")]
try:
    socket.create_connection(("pypi.org", 443), timeout=5).close()
    offline = False
except OSError:
    offline = True
assert offline
train, test = mnist(train=True), mnist(train=False)
print(len(train), len(test), train[0][1], test[0][1])
"""
DATA_OUTPUT = "60000 10000 5 7\n"


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _build(kind: str, source: Path, out: Path) -> Path:
    """setuptools' build_wheel or build_sdist on source, into out; the built file's path."""
    code = f"import sys\nfrom setuptools import build_meta\nprint(build_meta.{kind}(sys.argv[1]))"
    built = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=source, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    return out / built.stdout.strip().splitlines()[-1]


def _copy_of_what_the_build_reads(dest: Path) -> Path:
    source = _mkdir(dest / "source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("src", "datasets", "locales"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    return source


def build_wheel(dest: Path) -> Path:
    """Build the wheel from a copy of what the build reads; return its path."""
    return _build("build_wheel", _copy_of_what_the_build_reads(dest), dest / "dist")


def course_wheel(dest: Path) -> Path:
    """$TORCHCOURSE_WHEEL (a release's built wheel) when set, else a wheel built now."""
    given = os.environ.get("TORCHCOURSE_WHEEL")
    if given:
        path = Path(given)
        assert path.is_file() and path.suffix == ".whl", f"TORCHCOURSE_WHEEL={given}: no wheel"
        assert path.name.startswith(f"torchcourse-{torchcourse.__version__}-"), path.name
        return path
    return build_wheel(dest)


def test_the_sdist_builds_the_same_wheel(tmp_path):
    """`python -m build` (the release) builds the wheel from the sdist: it must carry it all."""
    source = _copy_of_what_the_build_reads(tmp_path)
    sdist = _build("build_sdist", source, tmp_path / "sdist")
    from_checkout = _build("build_wheel", source, tmp_path / "dist")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    from_sdist = _build("build_wheel", unpacked, tmp_path / "from-sdist")
    names = set(zipfile.ZipFile(from_sdist).namelist())
    assert names == set(zipfile.ZipFile(from_checkout).namelist())
    sizes = sdist.stat().st_size / 1e6, from_sdist.stat().st_size / 1e6
    print("sdist {:.2f} MB, wheel {:.2f} MB".format(*sizes))
    assert sizes[0] < 15


def test_the_wheel_carries_the_package_and_the_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (*MNIST_FILES, "SHA256SUMS"):
        assert f"torchcourse/datasets/mnist/{name}" in names
    for module in ("__init__.py", "data.py", "lenet.py", "checks/core.py", "checks/ch01.py"):
        assert f"torchcourse/{module}" in names
    for catalog in (ROOT / "locales").glob("*/LC_MESSAGES/*.po"):  # the checks' translations
        assert f"torchcourse/locales/{catalog.relative_to(ROOT / 'locales').as_posix()}" in names
    assert not [n for n in names if n.startswith(("tests/", "solutions/", "chapters/"))]
    assert wheel.stat().st_size < 15e6, f"{wheel.stat().st_size / 1e6:.1f} MB"


def test_every_subpackage_goes_into_the_wheel():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert set(find_packages(str(ROOT / "src"))) <= listed


def test_the_core_install_is_what_a_notebook_imports():
    core = {req.split(">")[0].split("=")[0] for req in PYPROJECT["project"]["dependencies"]}
    assert core == {
        "torch",
        "torchvision",
        "numpy",
        "matplotlib",
        "tqdm",
        "pyyaml",
        "pydantic",
        "nbformat",
        "babel",
    }  # fmt: skip (babel reads the translations' catalogs)
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "torchcourse[tools]" in extras["dev"]
    assert {"jupyterlab", "nbclient", "nbval"} <= {r.split(">")[0] for r in extras["tools"]}


def test_a_student_notebook_runs_from_the_installed_wheel_alone(wheel, tmp_path):
    scratch, run, cache, guard = (_mkdir(tmp_path / n) for n in ("site", "run", "cache", "guard"))
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--disable-pip-version-check", "--target", str(scratch), str(wheel)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cell = nbformat.v4.new_code_cell(DATA_CELL, execution_count=len(nb.cells) + 1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=DATA_OUTPUT)]
    nb.cells.append(cell)
    nbformat.write(nb, run / NOTEBOOK.name)
    shutil.copy(ROOT / "tests" / "nbval_sanitize.cfg", run)
    (run / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TORCHCOURSE_", "PYTHON"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(guard), str(scratch)]),
        STANDALONE_SCRATCH=str(scratch),
        XDG_CACHE_HOME=str(cache),
        PIP_NO_INDEX="1",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
    )
    hidden = subprocess.run(
        [sys.executable, "-c", "import torchcourse"],
        cwd=run, env={**env, "PYTHONPATH": str(guard)}, capture_output=True, text=True,
    )  # fmt: skip
    assert "No module named 'torchcourse'" in hidden.stderr, "a checkout is still importable"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "nbval_sanitize.cfg",
         "--nbval-cell-timeout=300", NOTEBOOK.name],
        cwd=run, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert (cache / "torchcourse" / "MNIST" / "raw" / "train-labels-idx1-ubyte").is_file()
    doctor = subprocess.run(
        [sys.executable, "-m", "torchcourse", "doctor"],
        cwd=run, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    packaged = scratch / "torchcourse" / "datasets" / "mnist"
    assert f"mnist        4 files, checksums OK ({packaged})" in doctor.stdout
    assert "course       none here (no lessons.yml in this folder or above)" in doctor.stdout
    assert torchcourse.__version__ in wheel.name

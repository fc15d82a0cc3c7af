"""Verify lessons with nbval on a forced device, and record the result for the site's badge."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from torchcourse.device import DEVICE_ENV, device_name, parse_device, require_device
from torchcourse.errors import CourseError
from torchcourse.i18n import _
from torchcourse.manifest import Course, Lesson
from torchcourse.paths import course_root
from torchcourse.records import RECORDS, machine_facts, refresh_readme


def run_nbval(notebook: Path, device: str, root: Path) -> tuple[bool, float, str]:
    """Run nbval on one notebook with the device forced; return (passed, seconds, output)."""
    env = {**os.environ, DEVICE_ENV: device}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", str(notebook)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    return proc.returncode == 0, time.perf_counter() - start, proc.stdout + proc.stderr


def write_record(lesson: Lesson, device: str, results: dict[str, dict], root: Path) -> Path:
    """Write verification/<id>-<device type>.json: torch version, device name, date, results."""
    record = {
        "lesson": lesson.id,
        "device": torch.device(device).type,
        "device_name": device_name(device),
        "torch": torch.__version__,
        **machine_facts(),  # torchvision, OS and Python
        "date": dt.date.today().isoformat(),
        "passed": all(r["result"] == "passed" for r in results.values()),
        "notebooks": results,
    }
    path = root / RECORDS / f"{lesson.id}-{torch.device(device).type}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def _tail(output: str, count: int = 15) -> list[str]:
    """The last lines of pytest's report, without the compared-output ratio table."""
    kept, skipping = [], False
    for line in output.strip().splitlines():
        if line.startswith("=") and "compared-output ratio" in line:
            skipping = True
        elif skipping and line.startswith("="):
            skipping = False
        if not skipping:
            kept.append(line)
    return kept[-count:]


def _check_files(lessons: list[Lesson], root: Path) -> None:
    """A CourseError naming the first notebook that is missing, before anything runs."""
    for lesson in lessons:
        for rel in (lesson.solution, lesson.notebook):
            if not (root / rel).is_file():
                fix = (
                    f"generate it with `python -m torchcourse chapters {lesson.id}`"
                    if rel == lesson.notebook
                    else "restore it with git, or fix its path in lessons.yml"
                )
                raise CourseError(f"{rel} is missing: {fix} (nothing was run).")


def _check_writable(folder: Path) -> None:
    """A CourseError when records cannot be written into folder, before anything runs."""
    try:
        folder.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise CourseError(
            f"cannot write the records into {folder} ({err.strerror}): make it writable, or "
            "run without --record (nothing was run)."
        ) from None


def verify(course: Course, keys: list[str], device: str, record: bool) -> int:
    """nbval the solution and student notebooks of the lessons on device ('cpu', 'cuda',
    'mps', 'xpu', ... any type PyTorch knows); 0 when all pass.

    Checked before anything runs: the device (one line when this machine lacks it), the
    notebooks, and with record a writable verification/.
    """
    wanted = parse_device(device, "--device")
    if wanted.type == "meta":
        raise CourseError(
            _(
                "--device meta is not a device that can run notebooks (its tensors hold no "
                "data, only shapes): use --device cpu or an accelerator such as cuda (nothing "
                "was run)."
            )
        )
    device = str(require_device(wanted, "--device"))
    root = course_root()
    lessons = [course.lesson(k) for k in keys] if keys else course.lessons
    _check_files(lessons, root)
    if record:
        _check_writable(root / RECORDS)
    failures = 0
    print(
        f"Verifying {len(lessons)} lesson(s) on {device} ({device_name(device)}), "
        f"torch {torch.__version__}"
    )
    for lesson in lessons:
        results = {}
        for rel in (lesson.solution, lesson.notebook):
            ok, seconds, output = run_nbval(root / rel, device, root)
            results[rel] = {"result": "passed" if ok else "failed", "seconds": round(seconds, 1)}
            budget = (
                ""
                if device != "cpu" or seconds <= lesson.max_seconds_cpu
                else (f"  (over its {lesson.max_seconds_cpu} s budget)")
            )
            print(f"  {'ok  ' if ok else 'FAIL'} {rel}  {seconds:6.1f} s{budget}")
            if not ok:
                failures += 1
                print("\n".join("      " + line for line in _tail(output)))
        if record:
            print(f"  recorded {write_record(lesson, device, results, root).relative_to(root)}")
    if record and (root / "README.md").is_file():
        if refresh_readme(root / "README.md", course, root / RECORDS):
            print("  README.md: verification summary updated from the records")
    return 1 if failures else 0

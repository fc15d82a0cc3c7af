"""Verification records (verification/<id>-<device>.json) and every claim made from them.

`torchcourse verify --record` writes a record per lesson and device. The site's badges, the
home page's and the README's "verified on ..." lines are generated here from those records and
from nothing else, so no page can claim a device that no passing run recorded.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from torchcourse.errors import CourseError
from torchcourse.i18n import _
from torchcourse.manifest import Course, Lesson

RECORDS = "verification"
DEVICE_NAMES = {"cpu": "CPU", "cuda": "CUDA", "mps": "MPS", "xpu": "XPU"}
README_START = "<!-- verification summary: generated from verification/, do not edit -->"
README_END = "<!-- end of verification summary -->"


@dataclass(frozen=True)
class Record:
    """One passed run of a lesson's two notebooks on one kind of device."""

    lesson: str
    device: str
    torch: str  # major.minor
    date: str
    release: str = ""  # torch's full version, without a local part such as +cu130
    torchvision: str = ""  # records written before these fields lack them
    os: str = ""
    python: str = ""

    @property
    def where(self) -> str:
        """'Linux, Python 3.11', or '' for a record that does not say."""
        return f"{self.os}, Python {self.python}" if self.os and self.python else ""


def machine_facts() -> dict[str, str]:
    """What a new record says about the run besides torch: torchvision, the OS and Python."""
    import torchvision

    python = ".".join(platform.python_version_tuple()[:2])
    return {"torchvision": torchvision.__version__, "os": platform.system(), "python": python}


def _release(version: object) -> str:
    return str(version or "").split("+")[0]


def device_label(device: str) -> str:
    return DEVICE_NAMES.get(device, device.upper())


def lesson_records(lesson: Lesson, folder: Path) -> list[Record]:
    """The lesson's passed records, CPU first; a CourseError names a broken record file."""
    found = []
    for path in sorted(folder.glob(f"{lesson.id}-*.json")):
        device = path.stem.split("-", 1)[1]
        fix = f"re-run `python -m torchcourse verify {lesson.id} --device {device} --record`"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            ok, torch_version, date = record["passed"], record["torch"], record["date"]
        except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as err:
            raise CourseError(f"{path} is not a verification record ({err}): {fix}.") from None
        if record.get("lesson", lesson.id) != lesson.id or record.get("device", device) != device:
            raise CourseError(
                f"{path} records lesson {record.get('lesson')!r} on "
                f"{record.get('device')!r}, not {lesson.id} on {device}: {fix}."
            )
        match = re.match(r"(\d+)\.(\d+)", str(torch_version))
        if ok is True and match:
            found.append(
                Record(
                    lesson.id,
                    device,
                    f"{match[1]}.{match[2]}",
                    str(date),
                    _release(torch_version),
                    _release(record.get("torchvision")),
                    str(record.get("os") or ""),
                    str(record.get("python") or ""),
                )
            )
    order = list(DEVICE_NAMES)
    return sorted(found, key=lambda r: order.index(r.device) if r.device in order else len(order))


def _where(records: list[Record]) -> str:
    """' (Linux, Python 3.11)' when the records say where they ran, else ''."""
    places = sorted({r.where for r in records if r.where})
    return f" ({'; '.join(places)})" if places else ""


def verification_badge(lesson: Lesson, folder: Path) -> str | None:
    """'verified with torch X.Y on CPU [and CUDA] (OS, Python X.Y), DATE', or None without a
    passed record."""
    passed = lesson_records(lesson, folder)
    if not passed:
        return None
    date = max(r.date for r in passed)
    versions = {r.torch for r in passed}
    if len(versions) == 1:
        devices = _(" and ").join(device_label(r.device) for r in passed) + _where(passed)
        return _("verified with torch {version} on {devices}, {date}").format(
            version=versions.pop(), devices=devices, date=date
        )
    parts = _(" and ").join(
        _("torch {version} on {device}").format(version=r.torch, device=device_label(r.device))
        + _where([r])
        for r in passed
    )
    return _("verified with {parts}, {date}").format(parts=parts, date=date)


def pinned_torch(course: Course, folder: Path) -> dict[str, str]:
    """{"torch": ..., "torchvision": ...}: the versions the newest CPU records ran."""
    records = [r for lesson in course.lessons for r in lesson_records(lesson, folder)]
    cpu = sorted((r for r in records if r.device == "cpu"), key=lambda r: r.date)
    if not cpu:
        raise CourseError(
            "no passed CPU verification record to pin torch from: run "
            "`python -m torchcourse verify --device cpu --record` first."
        )
    newest = cpu[-1]
    vision = newest.torchvision
    if not vision:  # an older record: torchvision 0.(N+15) goes with torch 2.N (PyTorch's table)
        major, minor = newest.release.split(".")[:2]
        vision = f"0.{int(minor) + 15}" if major == "2" else ""
    pins = {"torch": newest.release}
    if vision:
        pins["torchvision"] = vision if vision.count(".") == 2 else f"{vision}.*"
    return pins


def summary(course: Course, folder: Path) -> str:
    """One line per device that has passed records: how many chapters, torch, last date."""
    by_device: dict[str, list[Record]] = {}
    for lesson in course.lessons:
        for record in lesson_records(lesson, folder):
            by_device.setdefault(record.device, []).append(record)
    if not by_device:
        return _("No chapter has a verification record yet.")
    lines = []
    total = len(course.lessons)
    for device, records in by_device.items():
        versions = ", ".join(sorted({r.torch for r in records}))
        if len(records) == total:
            chapters = _("all {total} chapters").format(total=total)
        else:
            ids = ", ".join(r.lesson for r in records)
            chapters = _("chapters {ids} of {total}").format(ids=ids, total=total)
        where = _where(records).strip(" ()")
        line = (
            _("- Verified on {device}: {chapters} (torch {versions}, {where}, last run {date}).")
            if where
            else _("- Verified on {device}: {chapters} (torch {versions}, last run {date}).")
        )
        lines.append(
            line.format(
                device=device_label(device),
                chapters=chapters,
                versions=versions,
                where=where,
                date=max(r.date for r in records),
            )
        )
    return "\n".join(lines)


def readme_block(course: Course, folder: Path) -> str:
    """The README's generated verification section, markers included."""
    return f"{README_START}\n{summary(course, folder)}\n{README_END}"


def refresh_readme(readme: Path, course: Course, folder: Path) -> bool:
    """Rewrite the README's verification section from the records; True if it changed."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise CourseError(
            f"{readme.name} has no verification section: add the two marker lines "
            f"{README_START!r} and {README_END!r} where it belongs."
        )
    new = text[:start] + readme_block(course, folder) + text[end + len(README_END) :]
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return new != text

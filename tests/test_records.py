"""Every "verified on ..." claim comes from a passed record in verification/, and only from one."""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path

import pytest

from torchcourse.errors import CourseError
from torchcourse.manifest import load_course
from torchcourse.records import (
    DEVICE_NAMES,
    RECORDS,
    lesson_records,
    machine_facts,
    pinned_torch,
    readme_block,
    refresh_readme,
    summary,
    verification_badge,
)

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
CLAIM = re.compile(r"verified|verification|验证", re.IGNORECASE)
# Chinese puts no space after 。！？, so a sentence ends right after them.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n")
DEVICE = re.compile(r"\b(" + "|".join(DEVICE_NAMES.values()) + r")\b")


def claimed_devices(text: str) -> set[str]:
    """The device names that sentences about verification mention, as device types.

    Sentences end at a full stop followed by a space, or at a line break (a page's separate
    text elements are separate lines)."""
    names = {label: device for device, label in DEVICE_NAMES.items()}
    claims = [s for s in SENTENCE_END.split(text) if CLAIM.search(s)]
    return {names[m] for claim in claims for m in DEVICE.findall(claim)}


def recorded_devices(lessons, folder: Path = ROOT / RECORDS) -> set[str]:
    return {record.device for lesson in lessons for record in lesson_records(lesson, folder)}


def record(
    folder: Path, lesson_id: str, device: str, passed=True, torch="2.14.1", date="2026-11-23"
):
    data = {"lesson": lesson_id, "device": device, "torch": torch, "date": date, "passed": passed}
    (folder / f"{lesson_id}-{device}.json").write_text(json.dumps(data))


def test_the_readme_claims_only_what_the_records_show():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_block(COURSE, ROOT / RECORDS) in text, (
        "README.md's verification section is stale: run `torchcourse verify --record` (or "
        "torchcourse.records.refresh_readme)"
    )
    extra = claimed_devices(text) - recorded_devices(COURSE.lessons)
    assert not extra, f"README.md claims {sorted(extra)} without a passed record"


def test_the_manifest_claims_no_device():
    assert not claimed_devices(COURSE.course.tagline + " " + COURSE.course.title)


def test_summary_lists_only_devices_with_passed_records(tmp_path):
    lessons = COURSE.lessons
    assert summary(COURSE, tmp_path) == "No chapter has a verification record yet."
    record(tmp_path, lessons[0].id, "cuda", passed=False)
    assert "CUDA" not in summary(COURSE, tmp_path)
    for lesson in lessons:
        record(tmp_path, lesson.id, "cpu")
    record(tmp_path, lessons[1].id, "mps", date="2026-12-01")
    text = summary(COURSE, tmp_path)
    assert f"Verified on CPU: all {len(lessons)} chapters (torch 2.14" in text
    assert f"Verified on MPS: chapters {lessons[1].id} of {len(lessons)}" in text
    assert "2026-12-01" in text and "CUDA" not in text
    assert claimed_devices(text) == {"cpu", "mps"}


def test_refresh_rewrites_only_the_section(tmp_path):
    readme = tmp_path / "README.md"
    folder = tmp_path / RECORDS
    folder.mkdir()
    readme.write_text(f"intro\n{readme_block(COURSE, folder)}\noutro\n")
    record(folder, COURSE.lessons[0].id, "cpu")
    assert refresh_readme(readme, COURSE, folder)
    assert readme.read_text() == f"intro\n{readme_block(COURSE, folder)}\noutro\n"
    assert not refresh_readme(readme, COURSE, folder)
    readme.write_text("no markers")
    with pytest.raises(CourseError, match="no verification section"):
        refresh_readme(readme, COURSE, folder)


def test_a_record_for_another_lesson_or_device_is_refused(tmp_path):
    lesson = COURSE.lessons[0]
    record(tmp_path, COURSE.lessons[1].id, "cpu")
    (tmp_path / f"{COURSE.lessons[1].id}-cpu.json").rename(tmp_path / f"{lesson.id}-cpu.json")
    with pytest.raises(CourseError, match="records lesson"):
        lesson_records(lesson, tmp_path)


# --- what a record says about the machine -------------------------------------------------------


def test_new_records_say_which_os_and_python_ran_them():
    facts = machine_facts()
    assert set(facts) == {"torchvision", "os", "python"}
    assert facts["os"] == platform.system() and re.fullmatch(r"3\.\d+", facts["python"])
    assert re.match(r"\d+\.\d+", facts["torchvision"])


def test_badges_and_summary_name_the_os_and_python_and_older_records_still_count(tmp_path):
    lessons = COURSE.lessons
    record(tmp_path, lessons[0].id, "cpu")  # an older record: no OS, no Python
    assert verification_badge(lessons[0], tmp_path) == "verified with torch 2.14 on CPU, 2026-11-23"
    assert "Linux" not in summary(COURSE, tmp_path)
    data = json.loads((tmp_path / f"{lessons[0].id}-cpu.json").read_text())
    data.update(os="Linux", python="3.11", torchvision="0.29.1+cpu")
    (tmp_path / f"{lessons[0].id}-cpu.json").write_text(json.dumps(data))
    assert verification_badge(lessons[0], tmp_path) == (
        "verified with torch 2.14 on CPU (Linux, Python 3.11), 2026-11-23"
    )
    assert "(torch 2.14, Linux, Python 3.11, last run 2026-11-23)" in summary(COURSE, tmp_path)
    assert pinned_torch(COURSE, tmp_path) == {"torch": "2.14.1", "torchvision": "0.29.1"}


def test_binder_pins_come_from_the_newest_cpu_record(tmp_path):
    with pytest.raises(CourseError, match="no passed CPU verification record"):
        pinned_torch(COURSE, tmp_path)
    record(tmp_path, COURSE.lessons[0].id, "cpu", torch="2.13.0", date="2026-10-01")
    record(tmp_path, COURSE.lessons[1].id, "cpu", torch="2.14.1+cu130", date="2026-11-23")
    record(tmp_path, COURSE.lessons[2].id, "cuda", torch="2.15.0", date="2026-12-01")
    # older records lack torchvision: PyTorch pairs torch 2.N with torchvision 0.(N+15)
    assert pinned_torch(COURSE, tmp_path) == {"torch": "2.14.1", "torchvision": "0.29.*"}

"""What `grade` writes: gradebook.csv, one feedback file per student, and report.html.

gradebook.csv holds one row per student: a status per exercise (passed, failed, not attempted,
not graded), the totals, and the tampering flags noticed (which never change a status). The
feedback files speak the student's language; the class report the instructor's.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import Counter
from pathlib import Path

from torchcourse.grade import NOT_GRADED, STATUSES, LessonGrade
from torchcourse.grade_cells import FLAGS
from torchcourse.i18n import N_, _, translations, use_language
from torchcourse.i18n import language as language_now
from torchcourse.manifest import Lesson

GRADEBOOK, FEEDBACK, REPORT = "gradebook.csv", "feedback", "report.html"
SHARE = N_("share of students")  # the plot's y label
# Fonts with Chinese glyphs, best first: matplotlib's own DejaVu Sans has none.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "PingFang SC",
    "Microsoft YaHei",
    "SimHei",
)


def _by_student(grades: list[LessonGrade]) -> dict[str, list[LessonGrade]]:
    students: dict[str, list[LessonGrade]] = {}
    for grade in grades:
        students.setdefault(grade.student, []).append(grade)
    return dict(sorted(students.items()))


def _ids(lessons: list[Lesson]) -> list[str]:
    return [i for lesson in lessons for i in lesson.exercise_ids()]


def write_gradebook(grades: list[LessonGrade], lessons: list[Lesson], path: Path) -> None:
    ids = _ids(lessons)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *ids, *STATUSES, "flags"])
        for student, mine in _by_student(grades).items():
            statuses = {i: v.status for g in mine for i, v in g.verdicts.items()}
            counts = Counter(statuses.get(i, NOT_GRADED) for i in ids)
            flags = " ".join(f"{g.lesson}:{flag}" for g in mine for flag in g.flags)
            writer.writerow(
                [student, *(statuses.get(i, NOT_GRADED) for i in ids)]
                + [counts[s] for s in STATUSES]
                + [flags]
            )


def _title(lesson: Lesson, language: str) -> str:
    return f"{lesson.id} {translations(language).get(lesson.title, lesson.title)}"


def feedback(student: str, mine: list[LessonGrade], lessons: list[Lesson]) -> str:
    """One student's feedback (markdown), in the language of most of their notebooks."""
    languages = [g.language for g in mine]
    language = max(languages, key=languages.count)
    by_lesson = {g.lesson: g for g in mine}
    with use_language(language):
        lines = [_("# Feedback for {student}").format(student=student), ""]
        passed = total = 0
        for lesson in lessons:
            grade = by_lesson.get(lesson.id)
            if grade is None:
                continue
            lines += [f"## {_title(lesson, language)}", ""]
            for exercise_id in lesson.exercise_ids():
                verdict = grade.verdicts[exercise_id]
                passed, total = passed + (verdict.status == "passed"), total + 1
                lines.append(f"- {verdict.text}")
            if grade.flags:
                noticed = "; ".join(_(FLAGS[flag]) for flag in grade.flags)
                lines += [
                    "",
                    _("Noticed (it does not change the grade): {what}.").format(what=noticed),
                ]
            lines.append("")
        lines.append(_("Passed {passed} of {total} exercises.").format(passed=passed, total=total))
    return "\n".join(lines) + "\n"


def _y_label() -> tuple[str, list[str]]:
    """The y label in the instructor's language and the fonts to draw it with. Where no installed
    font has its glyphs, the English label: matplotlib would draw boxes and warn once a glyph."""
    from matplotlib import font_manager, rcParams

    label = _(SHARE)
    if label.isascii():
        return label, rcParams["font.family"]
    installed = {font.name for font in font_manager.fontManager.ttflist}
    chinese = [name for name in CJK_FONTS if name in installed]
    if chinese:
        return label, ["DejaVu Sans", *chinese]  # matplotlib falls back glyph by glyph
    return SHARE, rcParams["font.family"]


def _plot(rates: dict[str, Counter], students: int) -> str:
    """A stacked bar per exercise, as a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = list(rates)
    label, fonts = _y_label()
    with matplotlib.rc_context({"font.family": fonts}):
        fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(ids)), 3.6))
        bottom = [0.0] * len(ids)
        colours = {"passed": "#4caf50", "failed": "#e53935", "not attempted": "#bdbdbd"}
        colours[NOT_GRADED] = "#fb8c00"
        for status in STATUSES:
            share = [rates[i][status] / max(students, 1) for i in ids]
            ax.bar(ids, share, bottom=bottom, color=colours[status], label=status)
            bottom = [b + s for b, s in zip(bottom, share)]
        ax.set_ylabel(label)
        ax.set_ylim(0, 1)
        ax.tick_params(axis="x", rotation=90)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=4, frameon=False)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table(head: list[str], rows: list[list[object]]) -> str:
    cells = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


def report(grades: list[LessonGrade], lessons: list[Lesson], top: int = 15) -> str:
    """The class report (HTML): pass rates, the most frequent diagnoses, what was not graded
    and what was noticed."""
    ids = _ids(lessons)
    students = _by_student(grades)
    rates = {i: Counter() for i in ids}
    diagnoses: Counter = Counter()
    for grade in grades:
        for exercise_id, verdict in grade.verdicts.items():
            rates[exercise_id][verdict.status] += 1
            if verdict.status == "failed":
                diagnoses[(exercise_id, verdict.diagnosis)] += 1
    n = len(students)
    rate_rows = [
        [i, *(rates[i][s] for s in STATUSES), f"{rates[i]['passed'] / max(n, 1):.0%}"] for i in ids
    ]
    title, summary = (
        _("Class report"),
        _("{students} students, {lessons} lessons, {exercises} exercises.").format(
            students=n, lessons=len(lessons), exercises=len(ids)
        ),
    )
    headings = [
        _("Pass rates"),
        _("Most frequent diagnoses (what to teach again)"),
        _("Not graded"),
        _("Noticed (no effect on the grade)"),
    ]
    tables = [
        _table([_("Exercise"), *STATUSES, _("pass rate")], rate_rows),
        _table(
            [_("Exercise"), _("Diagnosis"), _("Students")],
            [[i, d, c] for (i, d), c in diagnoses.most_common(top)],
        ),
        _table(
            [_("Student"), _("Lesson"), _("Why")],
            [[g.student, g.lesson, g.note] for g in grades if g.note and _not_graded(g)],
        ),
        _table(
            [_("Student"), _("Lesson"), _("What")],
            [[g.student, g.lesson, _flags(g)] for g in grades if g.flags],
        ),
    ]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style>",
        f"</head><body><h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>",
        f"<img alt='pass rates' src='data:image/png;base64,{_plot(rates, n)}'>",
    ]
    for heading, table in zip(headings, tables):
        parts += [f"<h2>{html.escape(heading)}</h2>", table]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _flags(grade: LessonGrade) -> str:
    return "; ".join(_(FLAGS[flag]) for flag in grade.flags)


def _not_graded(grade: LessonGrade) -> bool:
    return all(v.status == NOT_GRADED for v in grade.verdicts.values())


def write_all(grades: list[LessonGrade], lessons: list[Lesson], out: Path) -> None:
    """gradebook.csv, feedback/<student>.md and report.html in out."""
    out.mkdir(parents=True, exist_ok=True)
    write_gradebook(grades, lessons, out / GRADEBOOK)
    (out / FEEDBACK).mkdir(exist_ok=True)
    for student, mine in _by_student(grades).items():
        text = feedback(student, mine, lessons)
        (out / FEEDBACK / f"{student}.md").write_text(text, encoding="utf-8")
    with use_language(language_now()):
        (out / REPORT).write_text(report(grades, lessons), encoding="utf-8")

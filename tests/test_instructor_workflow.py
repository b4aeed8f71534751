"""The instructor's workflow on real files: duplicate notebooks, an LMS's bulk zip split per
student, a roster, grades exported for each LMS and read back as the LMS reads them, a
Danish spreadsheet's manual sheet, and the pages. Graded with the tiny assignment (one
exercise, real sandboxed kernels) to stay quick."""

from __future__ import annotations

import csv
import io
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from rich.console import Console

from conftest import REPO, TEST_LIMITS
from grader.grade import GradingConfig, grade_submission
from grader.kernel.sandbox import choose
from grader.inputs.lms import bulk_owners
from grader.outputs.report import print_result
from grader.runners.batch import grade_batch
from grader.runners.cli import main
from grader.outputs.progress import BatchProgress

TINY = REPO / "tests" / "assignments" / "tiny"
TINY_SOLUTIONS = REPO / "tests" / "assignments" / "tiny_solutions"
RIGHT = (REPO / "tests" / "assignments" / "tiny_submissions" / "right" / "squares.ipynb").read_bytes()
WRONG = (REPO / "tests" / "assignments" / "tiny_submissions" / "wrong" / "squares.ipynb").read_bytes()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> GradingConfig:
    return GradingConfig(sandbox=choose(require=False), limits=TEST_LIMITS, solutions_dir=TINY_SOLUTIONS,
                         cache_dir=tmp_path_factory.mktemp("cache"), profile="quick", assignment=str(TINY))


def quiet(n: int) -> BatchProgress:
    return BatchProgress(total=n, console=Console(file=io.StringIO()))


class Page(HTMLParser):
    """A parsed page: its text, its links, its tags."""

    def __init__(self, html: str):
        super().__init__()
        self.text, self.links, self.tags = [], [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_data(self, data):
        self.text.append(data)

    @property
    def body(self) -> str:
        return " ".join(" ".join(self.text).split())


# --- duplicates -----------------------------------------------------------------------------

def test_duplicate_notebooks_canonical_name_wins_then_most_answered(tiny, tmp_path):
    canonical = tmp_path / "group1"
    canonical.mkdir()
    (canonical / "squares.ipynb").write_bytes(WRONG)  # canonical, 1 answered
    (canonical / "squares - Copy.ipynb").write_bytes(RIGHT)  # a copy, 2 answered: loses anyway
    result = grade_submission(canonical, tiny)
    assert result.points == 0  # the canonical (wrong) notebook was graded, not the better copy
    (choice,) = result.choices
    assert choice["graded"]["file"] == "squares.ipynb" and choice["why"] == "it has the exercise's own name"
    assert [c["file"] for c in choice["ignored"]] == ["squares - Copy.ipynb"]

    copies = tmp_path / "group2"
    copies.mkdir()
    (copies / "squares (1).ipynb").write_bytes(WRONG)
    (copies / "squares-Copy1.ipynb").write_bytes(RIGHT)
    result = grade_submission(copies, tiny)
    assert result.points == 3
    (choice,) = result.choices
    assert choice["graded"]["file"] == "squares-Copy1.ipynb" and choice["why"] == "it has the most answered questions"

    # shown on the feedback page and in the terminal, not only among the notes
    from grader.outputs.html import feedback_page
    page = Page(feedback_page(result)).body
    assert "Notebooks graded" in page and "squares (1).ipynb" in page and "squares-Copy1.ipynb" in page
    buf = io.StringIO()
    print_result(result, Console(file=buf, width=300))
    assert "duplicate notebooks: squares: graded squares-Copy1.ipynb" in buf.getvalue()
    assert "ignored squares (1).ipynb" in buf.getvalue()


# --- LMS bulk downloads ---------------------------------------------------------------------

def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _group_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("journal/squares.ipynb", RIGHT)
    return buf.getvalue()


LAYOUTS = {
    # Canvas: flat, name_[LATE_]userid_attachmentid_file; a student's own zip inside
    "canvas": ({"doejane_48213_930117_squares.ipynb": RIGHT,
                "smithbob_LATE_48214_930118_journal.zip": _group_zip()},
               {"48213": "doejane", "48214": "smithbob"}),
    # Moodle, files and (newer) folders
    "moodle": ({"Jane Doe_1201_assignsubmission_file_squares.ipynb": RIGHT,
                "Bob Smith_1202_assignsubmission_file/squares.ipynb": WRONG},
               {"1201": "Jane Doe", "1202": "Bob Smith"}),
    # Brightspace: two attempts of Jane's, the later one counts; its index.html is no submission
    "brightspace": ({"86345-11001 - Jane Doe - Jan 5, 2026 1129 PM - squares.ipynb": WRONG,
                     "86399-11001 - Jane Doe - Jan 6, 2026 0905 AM - squares.ipynb": RIGHT,
                     "86346-11002 - Group 2 - Jan 5, 2026 1130 PM - squares.ipynb": WRONG,
                     "index.html": b"<html></html>"},
                    {"11001": "Jane Doe", "11002": "Group 2"}),
    # Blackboard: a details .txt per attempt
    "blackboard": ({"Journal 2_jdoe_attempt_2026-01-05-23-29-00_squares.ipynb": RIGHT,
                    "Journal 2_jdoe_attempt_2026-01-05-23-29-00.txt": b"Name: Jane Doe",
                    "Journal 2_bsmith_attempt_2026-01-04-10-00-00_squares.ipynb": WRONG,
                    "Journal 2_bsmith_attempt_2026-01-04-10-00-00.txt": b"Name: Bob Smith"},
                   {"jdoe": "jdoe", "bsmith": "bsmith"}),
}


@pytest.mark.parametrize("lms", sorted(LAYOUTS))
def test_an_lms_bulk_zip_is_recognised_per_student(tmp_path, lms):
    entries, people = LAYOUTS[lms]
    owners = bulk_owners(_zip(tmp_path / "all.zip", entries))
    assert owners is not None and {o.student_id: o.name for o in owners} == people
    assert {o.lms.lower() for o in owners} == {lms}
    if lms == "brightspace":  # the later attempt only
        jane = next(o for o in owners if o.student_id == "11001")
        assert jane.when.startswith("Jan 6") and len(jane.files) == 1


def test_an_ordinary_zip_of_one_group_stays_one_submission(tmp_path):
    ordinary = _zip(tmp_path / "group1.zip", {"squares.ipynb": RIGHT, "notes_2024_01_draft.txt": b"x",
                                              "group_12_34_squares.ipynb": WRONG, "old/squares.ipynb": WRONG})
    assert bulk_owners(ordinary) is None


@pytest.fixture(scope="module")
def graded_class(tiny, tmp_path_factory):
    """A Moodle bulk zip graded like an instructor does it, with a Danish manual sheet after."""
    root = tmp_path_factory.mktemp("moodle")
    entries, _ = LAYOUTS["moodle"]
    bulk = _zip(root / "ITMAL-Journal 2-12345.zip", entries)
    out = root / "out"
    report = grade_batch([bulk], out, tiny, jobs=2, progress=quiet(2))
    return out, report, root


def test_a_moodle_bulk_zip_is_graded_per_student_with_a_roster(graded_class):
    out, report, _ = graded_class
    names = sorted(r.name for r in report.results)
    assert names == ["bob-smith_1202", "jane-doe_1201"]
    book = {r["submission"]: r for r in csv.DictReader(open(out / "gradebook.csv", newline=""))}
    assert book["jane-doe_1201"]["squares.qa"] == "2" and book["bob-smith_1202"]["squares.qa"] == "0"
    assert book["jane-doe_1201"]["handed_in"] == "Jane Doe (Moodle 1201)"
    roster = list(csv.DictReader(open(out / "lms-students.csv", newline="")))
    assert {(r["submission"], r["student_id"], r["name"]) for r in roster} == {
        ("jane-doe_1201", "1201", "Jane Doe"), ("bob-smith_1202", "1202", "Bob Smith")}


def _export(out: Path, fmt: str, target: Path, *extra: str) -> str:
    assert main(["export-grades", str(out), "--format", fmt, "--out", str(target), "--item", "Journal 2", *extra]) == 0
    return target.read_text(encoding="utf-8")


def test_export_grades_read_back_as_each_lms_reads_them(graded_class, tmp_path):
    out, _, _ = graded_class
    # Brightspace: OrgDefinedId, "<item> Points Grade <Numeric MaxPoints:N>", End-of-Line Indicator "#"
    rows = list(csv.DictReader(io.StringIO(_export(out, "brightspace", tmp_path / "b.csv"))))
    assert list(rows[0]) == ["OrgDefinedId", "Journal 2 Points Grade <Numeric MaxPoints:3>",
                             "Journal 2 verdict Text Grade <Text>", "End-of-Line Indicator"]
    got = {r["OrgDefinedId"]: r["Journal 2 Points Grade <Numeric MaxPoints:3>"] for r in rows}
    assert got == {"1201": "3", "1202": "0"} and {r["End-of-Line Indicator"] for r in rows} == {"#"}
    # Canvas: Student, ID, SIS User ID, SIS Login ID, Section, "<assignment> (<id>)"; row 2 Points Possible
    reader = list(csv.reader(io.StringIO(_export(out, "canvas", tmp_path / "c.csv",
                                                 "--canvas-assignment-id", "7781"))))
    assert reader[0][:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Journal 2 (7781)"]
    assert reader[1][0].strip() == "Points Possible" and reader[1][5] == "3"
    assert {(r[0], r[1], r[5], r[6]) for r in reader[2:]} == {("Jane Doe", "1201", "3", "complete"),
                                                              ("Bob Smith", "1202", "0", "complete")}
    # Moodle grading worksheet: Identifier "Participant <id>", Grade, Maximum Grade
    rows = list(csv.DictReader(io.StringIO(_export(out, "moodle", tmp_path / "m.csv"))))
    assert {(r["Identifier"], r["Full name"], r["Grade"], r["Maximum Grade"]) for r in rows} == {
        ("Participant 1201", "Jane Doe", "3", "3"), ("Participant 1202", "Bob Smith", "0", "3")}
    # csv, with a roster the instructor wrote (a group of two maps to both students)
    roster = tmp_path / "roster.csv"
    roster.write_text("submission;student_id;name\njane-doe_1201;s1;Jane Doe\njane-doe_1201;s2;Ann Lee\n",
                      encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(_export(out, "csv", tmp_path / "g.csv", "--roster", str(roster)))))
    assert [(r["student_id"], r["points"], r["max_points"]) for r in rows] == [("s1", "3", "3"), ("s2", "3", "3")]


def test_a_danish_manual_sheet_is_merged(graded_class, tiny, tmp_path):
    out, _, root = graded_class
    rows = list(csv.DictReader(open(out / "manual.csv", newline="", encoding="utf-8")))
    jane = next(r for r in rows if r["submission"] == "jane-doe_1201")
    assert jane["max_points"] == "1"
    sheet = tmp_path / "manual-da.csv"  # as Excel in Danish saves "CSV UTF-8": BOM, ';', decimal comma
    with open(sheet, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(list(jane))
        for r in rows:
            if r["submission"] == "jane-doe_1201":
                r["points"], r["comment"] = "0,5", "Halvt rigtigt; mangler fortegn."
            writer.writerow(list(r.values()))
    assert sheet.read_bytes().startswith(b"\xef\xbb\xbf") and b";0,5;" in sheet.read_bytes()
    bulk = next(root.glob("*.zip"))
    grade_batch([bulk], out, tiny, jobs=1, manual=sheet, progress=quiet(0))
    book = {r["submission"]: r for r in csv.DictReader(open(out / "gradebook.csv", newline=""))}
    assert book["jane-doe_1201"]["squares.qb"] == "0.5" and book["jane-doe_1201"]["total"] == "2.5"
    feedback = Page((out / "jane-doe_1201" / "feedback.html").read_text()).body
    assert "Halvt rigtigt; mangler fortegn." in feedback
    assert "squares.qb: Explain · partial credit , 0.5 / 1" in feedback


def test_summary_lists_every_submission_with_points_verdict_and_link(graded_class):
    out, _, _ = graded_class
    page = Page((out / "summary.html").read_text())
    assert {"jane-doe_1201/feedback.html", "bob-smith_1202/feedback.html"} <= set(page.links)
    for link in ("jane-doe_1201/feedback.html", "bob-smith_1202/feedback.html"):
        assert (out / link).is_file()
    assert "Jane Doe (Moodle 1201)" in page.body and "Submissions" in page.body


# --- pages and points -----------------------------------------------------------------------

def _result(name: str, got: float, message: str):
    from grader.judge.outcomes import CheckResult, Outcome, QuestionResult, SubmissionResult
    qa = QuestionResult("ex.qa", "Compute", 3, [CheckResult("value", Outcome.PASSED, weight=got),
                                                CheckResult("plot", Outcome.MISSING, "plot is still None", weight=1),
                                                CheckResult("w", Outcome.WRONG, message),
                                                CheckResult("b", Outcome.WRONG, message.replace("13", "15"))])
    qb = QuestionResult("ex.qb", "Explain", 1, [CheckResult("text answer", Outcome.PASSED)],
                        answer_text="**Ridge** keeps <b>all</b> weights. [click](javascript:alert(1)) "
                                    "[docs](https://scikit-learn.org)\n\n- one\n- two")
    return SubmissionResult(name, [qa, qb], "sandboxed (bubblewrap)")


def test_pages_partial_credit_markdown_points_and_common_failures():
    from grader.outputs.gradebook import gradebook_csv
    from grader.outputs.html import feedback_page, summary_page
    from grader.outputs.report import gradescope_results

    long = ("w: expected 13.000 for the weight of feature number 4 (the intercept excluded), got 14.5; they "
            "differ by 1.5, more than the tolerance of 1e-06 allows") * 2
    results = [_result("g1", 0.9909, long), _result("g2", 0.5, long.replace("14.5", "12.25"))]
    r = results[0]
    assert 0 < r.questions[0].points < 3 and r.questions[0].points != round(r.questions[0].points, 2)
    page = feedback_page(r)
    parsed = Page(page)
    assert "partial credit; a part: missing (not attempted)" in parsed.body
    assert "ex.qa: Compute · missing (not attempted)" not in parsed.body
    assert f"{round(r.points, 2):g} / 4" in parsed.body  # two decimals at most on the page
    # Markdown rendered, inert: no raw HTML, no javascript: link, a plain https link kept
    assert "<strong>Ridge</strong>" in page and "<li>one</li>" in page and "<b>" not in page
    assert "javascript:" not in parsed.links and "https://scikit-learn.org" in parsed.links
    # CSV: two decimals; results.json keeps the full value
    rows = list(csv.DictReader(io.StringIO(gradebook_csv(results))))
    assert rows[0]["total"] == f"{round(r.points, 2):g}" and len(rows[0]["total"].split(".")[-1]) <= 2
    assert gradescope_results(r)["score"] == pytest.approx(r.points, abs=1e-4) and gradescope_results(r)["score"] != float(rows[0]["total"])
    # summary: the same failure in two submissions counts 2 (submissions, not its two checks
    # per submission), with one full example message
    summary = summary_page(results, {"g1": 1.0, "g2": 2.0})

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cell = [], None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.rows.append([])
            elif tag == "td":
                self.cell = ""

        def handle_endtag(self, tag):
            if tag == "td":
                self.rows[-1].append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    cells = Cells()
    cells.feed(summary)
    wrong = [row for row in cells.rows if len(row) == 4 and row[2] == "wrong answer"]
    assert len(wrong) == 1 and wrong[0][0] == "2" and wrong[0][3].strip() == long.strip()
    assert "#" not in wrong[0][3]


def test_histograms_label_their_axes_and_count_whole_submissions():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from grader.outputs.html import _histogram

    fig, ax = plt.subplots()
    _histogram(ax, [0.5, 1.0, 1.0, 2.5], 3, "ex.qa")
    fig.canvas.draw()
    assert ax.get_xlabel() == "points" and ax.get_ylabel() == "submissions"
    assert all(float(t).is_integer() for t in ax.get_yticks())
    plt.close(fig)


def test_a_roster_without_its_columns_stops_before_grading(tmp_path, capsys):
    sub = tmp_path / "group1"
    sub.mkdir()
    (sub / "squares.ipynb").write_bytes(RIGHT)
    roster = tmp_path / "people.csv"
    roster.write_text("group,who\ngroup1,s1\n")
    out = tmp_path / "out"
    assert main(["grade", str(sub), "--out", str(out), "--assignment", str(TINY), "--roster", str(roster)]) == 2
    assert "lacks the columns submission, student_id" in capsys.readouterr().err
    assert not (out / "group1").exists()
    # export-grades for an LMS without any roster says what it needs
    assert main(["export-grades", str(out), "--format", "moodle", "--out", str(tmp_path / "m.csv")]) == 2
    assert "no graded submissions" in capsys.readouterr().err


def test_a_text_answer_worth_a_third_shows_a_typeable_maximum_that_gives_full_marks(tmp_path):
    from grader.judge.outcomes import CheckResult, Outcome, QuestionResult, SubmissionResult
    from grader.outputs.gradebook import apply_manual, manual_csv, read_manual

    q = QuestionResult("ex.qc", "Why", 1, [CheckResult("a", Outcome.PASSED), CheckResult("b", Outcome.PASSED),
                                          CheckResult("text answer", Outcome.PASSED)], answer_text="Because.")
    result = SubmissionResult("g1", [q], "sandboxed")
    sheet = tmp_path / "manual.csv"
    sheet.write_text(manual_csv([result]))
    rows = list(csv.DictReader(open(sheet, newline="")))
    assert rows[0]["max_points"] == "0.33"  # 1/3 of a point, as a person can type it
    rows[0]["points"] = "0.33"
    with open(sheet, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert apply_manual(result, read_manual(sheet))
    assert result.questions[0].points == 1  # full marks, not 0.99

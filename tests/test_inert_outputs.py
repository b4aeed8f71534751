"""Student text and names are inert in every output (issue 11, part 5), checked as each output's
consumer reads it: the csv module for the sheets, a rich Console for the terminal, the HTML
text for the pages. No kernels here; tests/test_cli.py runs the same attacks through the CLI."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from grader.inputs.submissions import RESERVED_NAMES, discover, submission_name
from grader.judge.outcomes import (LEADERBOARD_METRIC, LEADERBOARD_MODEL, CheckResult, Outcome, QuestionResult,
                                   SubmissionResult)
from grader.outputs.gradebook import gradebook_csv, leaderboard_csv, manual_csv, read_manual, apply_manual
from grader.outputs.html import feedback_page, summary_page
from grader.outputs.inert import csv_cell, csv_uncell, visible
from grader.outputs.progress import BatchProgress
from grader.outputs.report import gradescope_results, print_result, text_answers_markdown

ESC_NAME = "evil[bold][link=https:x.example]\x1b[31mred\x1b]8;;https:x.example\x07link\x1b]8;;\x07\u202egnp.exe"
HOSTILE_NAMES = [
    "gradebook.csv.zip", "gradebook.csv", "GRADEBOOK.CSV", "summary.html", "manual.csv.zip", "manual.csv",
    "leaderboard.csv", "manual-latest.csv", "Γράμμα", "作业", "課題", "a b", "a_b", "a-b", "A_B", "a_B",
    ".", "..", ".hidden", "..x", "-rf", "con", "nul.txt", "x" * 300, "x" * 301, "résumé", "re\u0301sume\u0301",
    ESC_NAME, "=1+2", "@SUM(A1)", "<img src=x onerror=alert(1)>", "group01", "Group01", "group01~c203a4838efa",
    "tab\there", "new\nline", "x~y",
]
FORMULA = tuple("=+-@\t\r")


def test_submission_names_are_safe_distinct_and_a_function_of_the_name_alone(tmp_path, monkeypatch):
    got = {}
    for original in HOSTILE_NAMES:
        path = Path("some/where") / original if original not in (".", "..") else None
        if path is None:  # `grader grade .` names the folder it stands for
            here = tmp_path / "Dot Folder" / "inner"
            here.mkdir(parents=True, exist_ok=True)
            monkeypatch.chdir(here)
            path = Path(original)
            assert submission_name(path) == submission_name(Path.cwd() if original == "." else Path.cwd().parent)
        name = submission_name(path)
        if original not in (".", ".."):
            assert name == submission_name(Path("elsewhere") / original)  # the folder above plays no part
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,80}", name), name
        assert name.lower() not in RESERVED_NAMES and name not in (".", "..")
        got.setdefault(name.lower(), set()).add(original)
    # distinct originals -> distinct names, even ignoring case (macOS, Windows) ...
    clashes = {k: v for k, v in got.items() if len(v) > 1}
    assert clashes == {}
    # ... and a name that sanitising changed never equals a clean one that looks like it
    assert submission_name(Path("a b")) != submission_name(Path("a_b")) == "a_b"
    assert submission_name(Path("Group01")) != "group01"
    assert submission_name(Path("group01~" + submission_name(Path("Group01")).split("~")[1])) != \
        submission_name(Path("Group01"))
    assert submission_name(Path("gradebook.csv.zip")) == "gradebook.csv.zip"  # a folder, not the gradebook
    assert submission_name(Path("gradebook.csv")) != "gradebook.csv"


def test_discover_names_do_not_depend_on_the_other_paths_and_same_names_are_refused(tmp_path):
    names = ["a b", "a_b", "Γράμμα", "作业", "gradebook.csv.zip", ESC_NAME]
    paths = []
    for n in names:
        (tmp_path / n).mkdir()
        paths.append(tmp_path / n)
    whole, notes = discover(paths)
    assert notes == [] and len({s.name for s in whole}) == len(names)
    by_path = {s.source: s.name for s in whole}
    subset, _ = discover(list(reversed(paths[1::2])))
    assert {s.source: s.name for s in subset} == {p: by_path[p] for p in paths[1::2]}
    assert {s.handed_in for s in whole} == set(names)
    # the same path twice: graded once; two submissions with one name: neither, with a note
    again, notes = discover([paths[0], paths[0], tmp_path / "." / "a b"])
    assert len(again) == 1 and notes == []
    (tmp_path / "other" / "a b").mkdir(parents=True)
    clash, notes = discover([paths[0], tmp_path / "other" / "a b", paths[1]])
    assert [s.handed_in for s in clash] == ["a_b"] and "none of them graded" in notes[0]


@pytest.mark.parametrize("text", ["=1+2", "'=1", "'tis", "''", " =x", "-2", "+", "@A1", "\tx", "\rx", "\nx",
                                  "＝1", "", "plain", "'", "= '"])
def test_csv_cell_is_never_a_formula_and_csv_uncell_undoes_it(text):
    cell = csv_cell(text)
    assert not cell.lstrip(" ").startswith(FORMULA + tuple("＝＋－＠"))
    assert csv_uncell(cell) == text


def hostile_result(name: str, source: str, answer: str = "=HYPERLINK(\"http://evil.example\",\"click\") Ridge "
                   "adds the squared norm.") -> SubmissionResult:
    qa = QuestionResult("regularizers.qa", "The penalty Omega", 3, [
        CheckResult("Omega(w_a)", Outcome.CODE_FAILED, "ValueError: [/] [bold]boom[/bold] \x1b[2J\x1b]0;pwned\x07")])
    qc = QuestionResult("regularizers.qc", "Ridge and Lasso", 1, [CheckResult("text answer", Outcome.PASSED)],
                        answer_text=answer)
    qs = QuestionResult("mlp_mnist.qd", "Search Quest", 1, [CheckResult("search", Outcome.PASSED)],
                        metrics={LEADERBOARD_METRIC: 0.9, LEADERBOARD_MODEL: "-cmd|' /C calc'!A0 \x1b[31m"})
    return SubmissionResult(name, [qa, qc, qs], "sandboxed (bubblewrap)", notes=[f"{source}: note [/] \x1b[31m"],
                            source=source)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_csv_cell_a_student_can_start_is_neutralised_and_manual_round_trips(tmp_path):
    sources = ["=1+2", "@SUM(A1)", ESC_NAME, "-x", "+y"]
    results = [hostile_result(submission_name(Path(s)), s) for s in sources]
    for sheet in (gradebook_csv(results), leaderboard_csv(results), manual_csv(results)):
        for row in rows(sheet):
            for cell in row:
                assert not cell.lstrip(" ").startswith(FORMULA), cell
                assert "\x1b" not in cell and "\u202e" not in cell
    book = {r[0]: r for r in rows(gradebook_csv(results))[1:]}
    assert sorted(csv_uncell(r[1]) for r in book.values()) == sorted(visible(s) for s in sources)
    manual = list(csv.DictReader(io.StringIO(manual_csv(results))))
    assert manual[0]["text"].startswith("'=HYPERLINK(")
    # the instructor fills in points and comments (some of which look like formulas) ...
    for row in manual:
        row["points"], row["comment"] = "0.5", "=not a formula, just a comment"
    sheet = tmp_path / "graded.csv"
    with open(sheet, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(manual[0]))
        writer.writeheader()
        writer.writerows({k: csv_cell(v) if k == "comment" else v for k, v in row.items()} for row in manual)
    grades = read_manual(sheet)
    # ... and every row matches its submission, with the comment as written
    assert set(grades) == {(r.name, "regularizers.qc") for r in results}
    for r in results:
        assert apply_manual(r, grades)
        qc = r.questions[1]
        assert qc.points == 0.5 and qc.checks[0].manual_comment == "=not a formula, just a comment"
    again = list(csv.DictReader(io.StringIO(manual_csv(results))))
    assert again[0]["comment"] == "'=not a formula, just a comment"  # neutralised again on the way out


def test_the_terminal_shows_student_text_literally_and_never_its_escapes():
    result = hostile_result("evil~0123456789ab", ESC_NAME)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="truecolor", width=300)
    print_result(result, console)  # rich markup [/] crashed here (MarkupError)
    out = buf.getvalue()
    for raw in ("\x1b[31mred", "\x1b]8;;http", "\x1b[2J", "\x1b]0;pwned", "\u202e", "\x07"):
        assert raw not in out
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)  # rich's own styling
    assert "[/] [bold]boom[/bold] \\x1b[2J" in plain
    assert visible(ESC_NAME) in plain
    # the progress display: plain lines, and the bar's status column
    for terminal in (False, True):
        buf = io.StringIO()
        progress = BatchProgress(total=1, console=Console(file=buf, force_terminal=terminal, width=300))
        with progress:
            progress.started(ESC_NAME)
            progress.done(ESC_NAME, result)
        out = buf.getvalue()
        assert "\x1b[31mred" not in out and "\u202e" not in out and "\x1b]8;;" not in out


def test_html_pages_escape_names_text_and_attributes():
    source = "<img src=x onerror=alert(1)>\"'[bold]\x1b[31m\u202e"
    result = hostile_result("img_src_x~0123456789ab", source, answer="<script>alert('x')</script> a b c d e")
    result.questions[1].figures = ["\"><script>alert(1)</script>", "iVBORw0KGgo=\" onload=\"alert(1)"]
    for page in (feedback_page(result), summary_page([result], {result.name: 3.0})):
        assert "<img src=x" not in page and "<script" not in page and "onload=" not in page
        assert "\x1b" not in page and "\u202e" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;[bold]\\x1b[31m\\u202e" in page
    feedback = feedback_page(result)
    # the answer is rendered as Markdown with raw HTML off: the tag is shown as text
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in feedback


def test_results_json_and_answers_md_name_the_original_and_render_nothing():
    result = hostile_result("evil~0123456789ab", ESC_NAME, answer="<script>x</script> ``` # heading [a](http://x)")
    doc = gradescope_results(result)
    assert doc["output"].splitlines()[0] == f"Submission: {visible(ESC_NAME)}"
    md = text_answers_markdown(result)
    assert "\x1b" not in md and "\u202e" not in md
    fence = "````text"  # longer than the answer's own ``` run: the answer cannot close it
    assert f"{fence}\n<script>x</script> ``` # heading [a](http://x)\n````" in md


def test_a_lone_surrogate_in_student_text_is_written_not_a_crash(tmp_path):
    """A notebook's JSON may hold "\\ud800": a str no UTF-8 encoder takes."""
    import json

    from grader.files import write_json_atomic, write_text_atomic

    write_json_atomic(tmp_path / "r.json", {"answer": "x\ud800y"})
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8")) == {"answer": "x\ud800y"}
    write_text_atomic(tmp_path / "a.md", "x\ud800y")
    assert (tmp_path / "a.md").read_text(encoding="utf-8") == "x\\ud800y"

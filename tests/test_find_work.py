"""Finding the work wherever a student put it: a whole journal in one notebook whose metadata
names one exercise, lost tags, the student's own headings, answers typed into the question's
cell or into a new cell under an untouched placeholder, optional questions left out.

The "messy but correct" samples are made here from the reference solutions, each edit the way
students make it; they must grade full marks."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENT, SOLUTIONS, by_id, read
from grader.grade import grade_submission, stubs
from grader.inputs.locate import find_exercises, locate_questions
from grader.inputs.notebook import ANSWER_PLACEHOLDER
from grader.inputs.stubs import question_letter
from grader.judge.outcomes import Outcome

# Cheap exercises (seconds each in the quick profile) for the whole-journal sample.
CHEAP = ("gradient_descent", "capacity", "regularizers", "neurons", "perceptron")


def _tagged(nb, tag: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if tag in c.get("metadata", {}).get("tags", []))


def answer_typed_into_question_cell(nb, qid: str):
    """The student deleted the answer cell and wrote under the question's own text."""
    i = _tagged(nb, f"{qid}.answer")
    answer = nb.cells.pop(i).source
    heading = max(k for k in range(i) if any(question_letter(line) for line in nb.cells[k].source.splitlines())
                  and nb.cells[k].cell_type == "markdown")
    nb.cells[heading].source += "\n\n**Answer:** " + answer
    return nb


def answer_in_new_cell_under_placeholder(nb, qid: str):
    """The student left `YOUR ANSWER HERE` and added a cell of their own below it."""
    i = _tagged(nb, f"{qid}.answer")
    answer = nb.cells[i].source
    nb.cells[i].source = ANSWER_PLACEHOLDER
    nb.cells.insert(i + 1, nbformat.v4.new_markdown_cell(answer))
    return nb


def own_headings(nb, title: str):
    """The student's own headings: '# <title>' for the exercise, '### Qb)' for a question."""
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    first.source = f"# {title}\n\nOur group's work."
    for cell in nb.cells:
        lines = cell.source.splitlines()
        if cell.cell_type == "markdown" and lines and question_letter(lines[0]):
            letter = question_letter(lines[0])[1]
            cell.source = "\n".join([f"### Q{letter})", *lines[1:]])
    return nb


def whole_journal(names, metadata_says: str):
    """The solutions of `names` pasted into one notebook, tags lost, metadata naming one exercise."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["itmal"] = {"exercise": metadata_says}
    for name in names:
        part = read(SOLUTIONS / f"{name}.ipynb")
        if name == "perceptron":
            part = answer_typed_into_question_cell(part, "perceptron.qc")
            pandas_cell = nbformat.v4.new_code_cell(
                "import pandas as pd\nimport seaborn as sns\n"
                "scores = pd.Series({'perceptron': score_qa})\nprint(scores.to_string())")
            part.cells.insert(_tagged(part, "perceptron.qa") + 1, pandas_cell)
        if name == "regularizers":
            part = own_headings(answer_in_new_cell_under_placeholder(part, "regularizers.qb"), "Regulizers")
        nb.cells += part.cells
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("tags", None)
        cell.id = f"c{i}"
    return nb


@pytest.fixture
def catalogue_and_stubs(config):
    return config.catalogue(), stubs(config)


def test_every_stub_and_solution_is_found_as_its_own_exercise_only(catalogue_and_stubs):
    catalogue, given = catalogue_and_stubs
    for folder in (ASSIGNMENT, SOLUTIONS):
        for path in sorted(folder.glob("*.ipynb")):
            nb = read(path)
            assert [f.name for f in find_exercises(nb, path, catalogue, given)] == [path.stem]
            for cell in nb.cells:
                cell.metadata.pop("tags", None)
            nb.metadata.pop("itmal")
            assert [f.name for f in find_exercises(nb, Path("journal.ipynb"), catalogue, given)] == [path.stem]


def test_a_whole_journal_is_found_whatever_its_metadata_says(catalogue_and_stubs):
    catalogue, given = catalogue_and_stubs
    nb = whole_journal(list(catalogue), metadata_says="gradient_descent")
    found = find_exercises(nb, Path("group12.ipynb"), catalogue, given)
    assert [f.name for f in found] == list(catalogue)
    assert found[0].hinted and "its metadata" in found[0].how
    assert not found[1].hinted and any(h.startswith("the heading") for h in found[1].how)
    regularizers = next(f for f in found if f.name == "regularizers")
    assert "the heading 'Regulizers'" in regularizers.how  # a typo of the title still names it


def test_the_untouched_stubs_hold_no_answer_text(catalogue_and_stubs):
    catalogue, given = catalogue_and_stubs
    for name, exercise in catalogue.items():
        nb = read(ASSIGNMENT / exercise.notebook)
        located = locate_questions(nb, [q.id for q in exercise.questions], stub=given[name])
        assert {q: c.text for q, c in located.items() if c.text} == {}


def test_answers_are_found_beside_the_placeholder_and_in_the_question_cell(catalogue_and_stubs):
    catalogue, given = catalogue_and_stubs
    solution = read(SOLUTIONS / "perceptron.ipynb")
    expected = solution.cells[_tagged(solution, "perceptron.qc.answer")].source
    moved = answer_typed_into_question_cell(copy.deepcopy(solution), "perceptron.qc")
    qids = [q.id for q in catalogue["perceptron"].questions]
    assert locate_questions(moved, qids, stub=given["perceptron"])["perceptron.qc"].text == f"**Answer:** {expected}"
    under = answer_in_new_cell_under_placeholder(copy.deepcopy(solution), "perceptron.qc")
    assert locate_questions(under, qids, stub=given["perceptron"])["perceptron.qc"].text == expected


def test_optional_questions_are_those_the_stubs_mark_optional(config):
    for name, exercise in config.catalogue().items():
        stub = read(ASSIGNMENT / exercise.notebook)
        marked = {f"{name}.{question_letter(c.source)}" for c in stub.cells
                  if c.cell_type == "markdown" and question_letter(c.source) and "[OPTIONAL]" in c.source.split("\n")[0]}
        assert {q.id for q in exercise.questions if q.optional} == marked & {q.id for q in exercise.questions}


def test_an_unanswered_optional_question_does_not_send_the_journal_back(config, sample):
    def leave_qb_and_optional_qc(nb):
        for tag in ("capacity.qb.answer", "capacity.qc.answer"):
            nb.cells[_tagged(nb, tag)].source = ANSWER_PLACEHOLDER
        return nb

    result = grade_submission(sample("capacity-qb-and-optional-qc-unanswered-pass", "capacity",
                                     leave_qb_and_optional_qc), config)
    q = by_id(result)
    assert q["capacity.qc"].outcome is Outcome.MISSING and q["capacity.qc"].optional
    assert result.unanswered == ["capacity.qb"] and result.verdict == "pass"


def test_messy_but_correct_whole_journal_grades_full_marks(config, tmp_path):
    """One notebook, metadata naming gradient descent, no tags, the student's own headings and
    answers wherever they typed them, pandas and seaborn imported: every exercise full marks."""
    path = tmp_path / "group12.ipynb"
    nbformat.write(whole_journal(CHEAP, metadata_says="gradient_descent"), path)
    result = grade_submission(path, config)
    assert sorted({q.id.split(".")[0] for q in result.questions}) == sorted(CHEAP)
    assert {q.id: q.feedback() for q in result.questions if q.outcome is not Outcome.PASSED} == {}
    assert result.points == result.max_points and result.verdict == "pass"
    note = next(n for n in result.notes if "holds 5 exercises" in n)
    assert "gradient_descent (by its metadata" in note and "regularizers (by the heading 'Regulizers'" in note
    q = by_id(result)
    assert q["perceptron.qc"].answer_text.startswith("**Answer:**")


def test_a_cell_imports_the_course_packages_only_and_a_failed_import_names_them(config, sample):
    """requests is installed beside the grader but is not a course package: refused, naming the
    list; a module that does not exist at all gets the same hint in the student's message."""
    def imports(nb):
        qa = nb.cells[_tagged(nb, "perceptron.qa")]
        qa.source = "import requests\n" + qa.source
        qd = nb.cells[_tagged(nb, "perceptron.qd")]
        qd.source = "import sklearn.no_such_module\n" + qd.source
        return nb

    q = by_id(grade_submission(sample("perceptron-imports-outside-the-course-packages", "perceptron", imports),
                               config))
    for qid, module in (("perceptron.qa", "requests"), ("perceptron.qd", "sklearn.no_such_module")):
        feedback = q[qid].feedback()
        assert q[qid].outcome is Outcome.CODE_FAILED, feedback
        assert f"No module named '{module}'" in feedback
        assert "the grading kernel has the course's packages only: numpy, scipy, pandas" in feedback

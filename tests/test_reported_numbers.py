"""A number counts only with the computation behind it (issue 12, section 2), on realistic
notebooks made from the reference solutions: values typed in earn no more than hard-coding
deserves, a function right on one input by coincidence earns nothing, a figure is judged by the
data it draws, and code that crashed after setting its answer is "student code failed"."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import by_id, insert_cell_after, replace_cells
from grader.grade import grade_submission
from grader.judge.checks import CheckFailed, check_close
from grader.judge.outcomes import CheckResult, Outcome, QuestionResult


def text_share(q) -> float:
    """The points a question's text answer alone is worth: all that hard-coding deserves."""
    return sum(q.check_max_points(c) for c in q.checks if c.name == "text answer")


def patch(nb, tag: str, old: str, new: str):
    cell = next(c for c in nb.cells if tag in c.metadata.get("tags", []) and old in c.source)
    cell.source = cell.source.replace(old, new)
    return nb


# --- gradient descent: theta is the end of the student's own path; Qe by its paths ------------

def typed_in_collapsed_crashed(nb):
    """One realistic gradient-descent notebook with three of the issue's cases:
    Qa  theta updated in place and the same array appended every step (theta_gd itself is right,
        but the path plotted in Qe is one point);
    Qb  theta_sgd set first, then the loop raises (a typo): the zeros are not the answer;
    Qd  least squares typed in as theta_mb (the student's own path ends elsewhere)."""
    patch(nb, "gradient_descent.qa", "    theta = theta - eta * gradients\n", "    theta -= eta * gradients\n")
    patch(nb, "gradient_descent.qb", "theta = np.random.randn(2, 1)  # random initialization\n",
          "theta_sgd = np.zeros((2, 1))\ntheta = np.random.randn(2, 1)  # random initialization\n")
    patch(nb, "gradient_descent.qb", "eta = learning_schedule(epoch * m + i)", "eta = learning_schedul(epoch * m + i)")
    return insert_cell_after(nb, "gradient_descent.qd",
                             "theta_mb = np.array([[4.21509616], [2.77011339]])  # from the least-squares print\n")


def appends_before_updating(nb):
    """Honest work in another style: theta is appended to the path before each update, so the
    path ends one step short of theta_gd."""
    return patch(nb, "gradient_descent.qa", "    theta = theta - eta * gradients\n    theta_path_bgd.append(theta)\n",
                 "    theta_path_bgd.append(theta)\n    theta = theta - eta * gradients\n")


def kernel_dies(nb):
    return replace_cells(nb, "gradient_descent.qd", "import os\nos._exit(3)\n")


@pytest.fixture(scope="module")
def gd_results(config, tmp_path_factory):
    """The gradient-descent samples, graded once for the tests below."""
    import nbformat

    from conftest import SOLUTIONS, read

    folder = tmp_path_factory.mktemp("gd-samples")
    out = {}
    for name, edit in {"typed-in-collapsed-crashed": typed_in_collapsed_crashed, "kernel-dies-in-qd": kernel_dies,
                       "appends-before-updating": appends_before_updating}.items():
        path = folder / f"{name}.ipynb"
        nbformat.write(edit(read(SOLUTIONS / "gradient_descent.ipynb")), path)
        out[name] = grade_submission(path, config)
    return out


def test_theta_typed_in_earns_only_the_text_answer(gd_results):
    qd = by_id(gd_results["typed-in-collapsed-crashed"])["gradient_descent.qd"]
    assert qd.outcome is Outcome.WRONG
    assert qd.points == pytest.approx(text_share(qd))  # the number itself earns nothing
    feedback = qd.feedback()
    assert "theta_mb should be what the last theta of your loop (theta_path_mgd[-1]) gives" in feedback
    assert "typed in" in feedback


def test_a_path_that_ends_one_step_short_of_theta_is_honest_work(gd_results):
    qa = by_id(gd_results["appends-before-updating"])["gradient_descent.qa"]
    assert qa.outcome is Outcome.PASSED, qa.feedback()


def test_collapsed_theta_path_fails_the_figure_question(gd_results):
    q = by_id(gd_results["typed-in-collapsed-crashed"])
    assert q["gradient_descent.qa"].outcome is Outcome.PASSED  # theta_gd itself is right
    qe = q["gradient_descent.qe"]
    assert qe.outcome is Outcome.WRONG and qe.points == pytest.approx(text_share(qe))
    assert "theta_path_bgd, plotted in the figure, is a single point: all its 1000 thetas" in qe.feedback()


def test_code_that_fails_after_setting_the_answer_is_student_code_failed(gd_results):
    qb = by_id(gd_results["typed-in-collapsed-crashed"])["gradient_descent.qb"]
    assert qb.outcome is Outcome.CODE_FAILED, qb.feedback()
    feedback = qb.feedback()
    assert "raised NameError: name 'learning_schedul' is not defined" in feedback
    assert "Traceback" in feedback or feedback.count("learning_schedul") > 1  # the traceback is shown


def test_one_question_names_one_cell_number_in_every_note_and_check(gd_results):
    result = gd_results["kernel-dies-in-qd"]
    qd = by_id(result)["gradient_descent.qd"]
    assert qd.outcome is Outcome.KERNEL_DIED, qd.feedback()
    named = re.compile(r"the (\d+)(?:st|nd|rd|th) code cell|cell (\d+)")  # as cell_label names a cell
    numbers = {m.group(0) for m in named.finditer(qd.feedback())}
    notes = [n for n in result.notes if "cell" in n]
    assert notes, result.notes
    for note in notes:
        numbers |= {m.group(0) for m in named.finditer(note)}
    assert len(numbers) == 1, (qd.feedback(), result.notes)


# --- perceptron: a reported score is the model's own --------------------------------------------

def test_equal_scores_typed_in_for_twins_that_disagree_earn_only_the_text_answer(config, sample):
    edit = lambda nb: insert_cell_after(  # noqa: E731
        nb, "perceptron.qd", "SGDModel = SGDClassifier(loss='hinge', random_state=1).fit(X_train, y_train)\n"
                             "SGDScore = PerceptronScore  # 'they are the same'\n")
    qd = by_id(grade_submission(sample("perceptron-qd-equal-scores-typed-in", "perceptron", edit), config))[
        "perceptron.qd"]
    assert qd.outcome is Outcome.WRONG
    assert qd.points == pytest.approx(text_share(qd))
    assert "SGDScore should be what SGDModel.score(X_test, y_test) gives for your own objects" in qd.feedback()


# --- regularizers: a function question is right in general, and a matrix is not a scalar ------

def test_outer_product_omega_earns_nothing(config, sample):
    edit = lambda nb: replace_cells(nb, "regularizers.qa", (  # noqa: E731
        "def Omega(w):\n    w = np.asarray(w, dtype=float)[1:].reshape(-1, 1)\n    return w @ w.T\n\n"
        "w_a = np.array([1, 2, -3])\nw_b = np.array([1E10, -3E10])\nw_c = np.array([0.1, 0.2, -0.3, 0])\n"
        "print(Omega(w_a), Omega(w_b), Omega(w_c))\n"))
    qa = by_id(grade_submission(sample("regularizers-qa-outer-product-omega", "regularizers", edit), config))[
        "regularizers.qa"]
    assert qa.points == 0 and qa.outcome is Outcome.WRONG
    feedback = qa.feedback()
    assert "Omega(w_b) should be a single number (a scalar), but it is an array of shape (1, 1)" in feedback


def test_a_function_right_on_some_inputs_only_earns_nothing():
    checks = [CheckResult("Omega(w_b)", Outcome.PASSED), CheckResult("hidden", Outcome.WRONG, hidden=True)]
    assert QuestionResult("q", "t", 3, checks, all_or_nothing=False).points == 1.5
    whole = QuestionResult.from_dict(QuestionResult("q", "t", 3, checks, all_or_nothing=True).to_dict())
    assert whole.points == 0 and "all or nothing" in whole.feedback()
    passed = QuestionResult("q", "t", 3, checks[:1], all_or_nothing=True)
    assert passed.points == 3 and "all or nothing" not in passed.feedback()


def test_a_scalar_answer_is_not_a_one_by_one_matrix():
    check_close("p", 9e20, 9e20, scalar=True)
    check_close("p", 9e20, np.float64(9e20), scalar=True)
    with pytest.raises(CheckFailed, match=r"shape \(1, 1\) holding 9e\+20; expected 9e\+20"):
        check_close("p", 9e20, np.array([[9e20]]), scalar=True)
    check_close("theta", [1.0, 2.0], np.array([[1.0], [2.0]]))  # a vector's shape stays free


def test_recompute_calls_the_students_own_names_only():
    from grader.kernel.requests import recompute

    request = recompute("SGDModel.score", "X_test", "y_test")
    assert request.expression() == "SGDModel.score(X_test, y_test)" and request.inputs() == []
    with pytest.raises(ValueError):
        recompute("SGDModel.score", "X_test); import os; (")

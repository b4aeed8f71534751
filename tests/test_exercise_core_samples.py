"""One typical wrong answer per checkable question of gradient descent, regularizers and
perceptron, each in a sample named by its expected outcome: it loses exactly that question's
points, with a message that says expected, got and by how much."""

from __future__ import annotations

import pytest

from conftest import by_id, insert_cell_after, replace_cells
from grader.grade import grade_submission
from grader.judge.outcomes import Outcome

SAMPLES = [
    # (sample name, exercise, question that must lose points, edit, words the message must hold)
    ("gradient-descent-qa-too-few-iterations", "gradient_descent", "gradient_descent.qa",
     lambda nb: insert_cell_after(nb, "gradient_descent.qa", "theta_gd = theta_gd + 0.3\n"),
     ["theta_gd: expected", "differ by 0.3"]),
    ("gradient-descent-qb-sgd-far-from-least-squares", "gradient_descent", "gradient_descent.qb",
     lambda nb: insert_cell_after(nb, "gradient_descent.qb", "theta_sgd = theta_sgd * 0.5\n"),
     ["theta_sgd: expected", "more than the 0.1 allowed"]),
    ("gradient-descent-qd-minibatch-far-from-least-squares", "gradient_descent", "gradient_descent.qd",
     lambda nb: insert_cell_after(nb, "gradient_descent.qd", "theta_mb = theta_mb - 1.0\n"),
     ["theta_mb: expected", "more than the 0.1 allowed"]),
    ("gradient-descent-qe-no-figure", "gradient_descent", "gradient_descent.qe",
     lambda nb: replace_cells(nb, "gradient_descent.qe", "pass\n"),
     ["no figure was shown"]),
    ("perceptron-qa-scored-on-training-data", "perceptron", "perceptron.qa",
     lambda nb: insert_cell_after(nb, "perceptron.qa", "score_qa = model_qa.score(X_train, y_train)\n"),
     ["score_qa: expected", "got"]),
    ("perceptron-qb-no-decision-boundary-plot", "perceptron", "perceptron.qb",
     lambda nb: replace_cells(nb, "perceptron.qb", "pass\n"),
     ["no figure was shown"]),
    ("perceptron-qd-twins-with-different-models", "perceptron", "perceptron.qd",
     lambda nb: insert_cell_after(nb, "perceptron.qd",
                                  "SGDModel = SGDClassifier(loss='hinge', random_state=1).fit(X_train, y_train)\n"
                                  "SGDScore = SGDModel.score(X_test, y_test)\n"),
     ["SGDScore vs PerceptronScore: expected", "agree on"]),
]


@pytest.mark.parametrize("name, exercise, question, edit, words", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_one_wrong_answer_loses_exactly_its_question(config, sample, name, exercise, question, edit, words):
    result = by_id(grade_submission(sample(name, exercise, edit), config))
    wrong = result[question]
    assert wrong.points < wrong.max_points
    assert wrong.outcome in (Outcome.WRONG, Outcome.MISSING)
    feedback = wrong.feedback()
    for w in words:
        assert w in feedback, feedback
    others = {q.id: q.feedback() for q in result.values() if q.id != question and q.points != q.max_points}
    assert others == {}

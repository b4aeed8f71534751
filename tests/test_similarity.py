"""The similarity report: winnowed fingerprints of code, word n-grams of text, the stub and
what the batch shares left out; planted copies rank above independent solutions."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys

import pytest

from grader.judge.outcomes import QuestionResult, SubmissionResult
from grader.outputs.fingerprints import (CODE_K, CODE_WINDOW, code_fingerprints, code_tokens, kgrams,
                                         text_fingerprints, text_words, winnow)
from grader.outputs.inert import csv_uncell, visible
from grader.outputs.similarity import Base, SimilaritySettings, compare, entry_of, passages
from grader.outputs.similarity_report import CSV_COLUMNS, MEANING, similarity_csv, similarity_page

from conftest import REPO

# --- a generated exercise: its stub, independent correct solutions, planted copies ---------

STUB_HELPER = '''# Given helper (do not modify): plot the loss curve of a run
def plot_losses(losses, title="loss per epoch"):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot(range(len(losses)), losses, marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    return fig
'''
STUB_DATA = '''# Setup: the data (do not modify)
import numpy as np
rng = np.random.default_rng(42)
X = np.c_[np.ones(100), rng.normal(size=(100, 2))]
y = X @ np.array([1.0, 2.0, -3.0]) + rng.normal(scale=0.1, size=100)
'''
STUB_TEXT = ["## Qa Gradient descent\nImplement batch gradient descent for linear regression.",
             "## Qb Explain\nWhy does a too large learning rate make gradient descent diverge?"]

# Five students' own, correct ways to write the same two cells (qa: the descent; qa: the plot).
DESCENTS = [
    '''def gd(X, y, eta=0.1, epochs=200):
    w = np.zeros(X.shape[1])
    losses = []
    for _ in range(epochs):
        grad = 2 / len(y) * X.T @ (X @ w - y)
        w = w - eta * grad
        losses.append(np.mean((X @ w - y) ** 2))
    return w, losses
''',
    '''theta = np.random.randn(3)
history = []
n = X.shape[0]
for iteration in range(500):
    residual = X.dot(theta) - y
    gradients = (2.0 / n) * X.T.dot(residual)
    theta -= 0.05 * gradients
    history.append(float(residual.dot(residual) / n))
''',
    '''class GradientDescent:
    def __init__(self, lr=0.01, n_iter=1000):
        self.lr, self.n_iter = lr, n_iter

    def fit(self, X, y):
        self.coef_ = np.zeros(X.shape[1])
        self.loss_ = []
        for i in range(self.n_iter):
            err = y - X @ self.coef_
            self.coef_ += self.lr * 2 * X.T @ err / X.shape[0]
            self.loss_.append((err ** 2).mean())
        return self
''',
    '''w = np.zeros(3); L = []
for k in range(300):
    e = X @ w - y
    L.append(e @ e / len(e))
    w -= 0.1 * (X.T @ e) * (2 / len(e))
print("weights", w, "final loss", L[-1])
''',
    '''import math
beta = [0.0, 0.0, 0.0]
mse = []
for step in range(100):
    preds = [sum(b * xi for b, xi in zip(beta, row)) for row in X]
    diffs = [p - t for p, t in zip(preds, y)]
    for j in range(3):
        beta[j] -= 0.1 * 2 * sum(d * row[j] for d, row in zip(diffs, X)) / len(X)
    mse.append(sum(d * d for d in diffs) / len(diffs))
''',
]
PLOTS = [
    'fig = plot_losses(losses, "batch GD")\nfig.savefig("gd.png")\nprint(w)',
    'plot_losses(history)\nprint("theta:", theta, "after", len(history), "iterations")',
    'model = GradientDescent(lr=0.05).fit(X, y)\nplot_losses(model.loss_, title="my descent")\nmodel.coef_',
    'plot_losses(L)',
    'plot_losses(mse, title="pure python")\nprint([round(b, 3) for b in beta])',
]
ANSWERS = [
    "With a large step each update overshoots the minimum, so the error grows instead of shrinking and the "
    "weights run off to infinity.",
    "The learning rate scales the gradient step. If it is bigger than two over the largest eigenvalue of the "
    "Hessian, the iteration is unstable and the loss explodes.",
    "Hvis læringsraten er for stor, hopper vi over bunden af skålen og ender højere oppe på den anden side; "
    "det gentager sig og vokser for hver iteration.",
    "Too big steps: we jump across the valley every time and land higher each time, so the loss diverges.",
    "A large eta means the parameters change a lot per epoch; the quadratic cost then oscillates with growing "
    "amplitude, which is divergence.",
]


OWN_DESCENT = '''from sklearn.linear_model import SGDRegressor
costs = []
reg = SGDRegressor(max_iter=1, learning_rate="constant", eta0=0.01, warm_start=True, tol=None)
while len(costs) < 50:
    reg.fit(X, y)
    costs.append(((reg.predict(X) - y) ** 2).mean())
'''


def _rename(code: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        code = re.sub(rf"\b{re.escape(old)}\b", new, code)
    return code


def _recomment(code: str) -> str:
    """Every comment rewritten, and a new one added to each line that has none."""
    lines = [re.sub(r"#.*", "# my own words here", line) for line in code.splitlines()]
    return "\n".join(line if "#" in line or not line.strip() else f"{line}  # step" for line in lines)


def _reorder_words(text: str) -> str:
    """The same words in another order: the clauses rotated, the sentence's end moved to its start."""
    clauses = [c.strip() for c in re.split(r"[,;.]", text) if c.strip()]
    return ", ".join(clauses[1:] + clauses[:1]) + "."


def _submission(name: str, descent: str, plot: str, answer: str, *, plot_first: bool = False) -> SubmissionResult:
    # Every student keeps the stub's given cells (the helper, the data) in their question.
    cells = [STUB_DATA, descent, plot, STUB_HELPER]
    if plot_first:
        cells = [STUB_HELPER, plot, descent, STUB_DATA]
    return SubmissionResult(name=name, sandbox="test", questions=[
        QuestionResult("descent.qa", "Gradient descent", 2, code=cells),
        QuestionResult("descent.qb", "Explain", 1, answer_text=answer)])


def _batch() -> tuple[list[SubmissionResult], set[frozenset[str]]]:
    """Five independent students and three planted copies of them."""
    independent = [_submission(f"student{i}", DESCENTS[i], PLOTS[i], ANSWERS[i]) for i in range(5)]
    renamed = {"theta": "params", "history": "loss_log", "residual": "r", "gradients": "g", "n": "m",
               "iteration": "it"}
    planted = [
        # variables renamed, cells reordered (the plot before the descent), its own text
        _submission("renamer", _rename(DESCENTS[1], renamed), _rename(PLOTS[1], renamed),
                    "I think the steps get bigger and bigger until it blows up.", plot_first=True),
        # the comments changed, nothing else
        _submission("commenter", _recomment(DESCENTS[0]), _recomment(PLOTS[0]),
                    "Each step lands further from the minimum than the one before."),
        # own code (the plain one-liner way), but student3's text with its words reordered
        _submission("paraphraser", OWN_DESCENT, 'plot_losses(costs)', _reorder_words(ANSWERS[3])),
    ]
    pairs = {frozenset({"renamer", "student1"}), frozenset({"commenter", "student0"}),
             frozenset({"paraphraser", "student3"})}
    return independent + planted, pairs


def _base(settings=SimilaritySettings()) -> Base:
    return Base.of({"descent": ([STUB_DATA, STUB_HELPER], STUB_TEXT)}, settings)


def _names(comparison, pair) -> frozenset[str]:
    return frozenset({comparison.entries[pair.a].name, comparison.entries[pair.b].name})


# --- fingerprints ------------------------------------------------------------------------------

def test_renamed_variables_and_changed_comments_give_the_same_tokens():
    a = code_tokens("total = 0\nfor x in items:  # add them\n    total += x.value * 2\n")
    b = code_tokens("s = 0   # start\n\nfor item in things:\n    # a comment line\n    s += item.value * 7\n")
    assert [t[0] for t in a] == [t[0] for t in b]
    assert "value" in [t[0] for t in a]  # an attribute after a dot is library API: kept
    assert [t[0] for t in code_tokens("model.fit(X)")] != [t[0] for t in code_tokens("model.predict(X)")]


def test_token_spans_point_into_the_source_and_magics_are_skipped():
    source = "%matplotlib inline\n!pip install x\nvalue = f(1, 'two')\n"
    tokens = code_tokens(source)
    assert [t[0] for t in tokens] == ["V", "=", "V", "(", "N", ",", "S", ")"]
    assert [source[s:e] for _, s, e in tokens] == ["value", "=", "f", "(", "1", ",", "'two'", ")"]


@pytest.mark.parametrize("broken", ["x = (1,\n  2", "def f(:\n  pass", "s = 'open", "\x00\x00", "\ud800 = 1",
                                    "  indented = 1\nback = 2", ""])
def test_code_that_does_not_parse_keeps_what_was_read(broken):
    tokens = code_tokens(broken)
    assert all(0 <= s <= e <= len(broken) for _, s, e in tokens)
    code_fingerprints(broken * 20)  # never raises


def test_winnowing_finds_every_shared_run_of_k_plus_w_minus_1_tokens():
    import random

    rng = random.Random(1)
    for trial in range(50):
        vocab = [f"t{i}" for i in range(30)]
        shared = [(rng.choice(vocab), 0, 0) for _ in range(CODE_K + CODE_WINDOW - 1)]
        a = [(rng.choice(vocab), 0, 0) for _ in range(rng.randrange(0, 40))] + shared
        b = shared + [(rng.choice(vocab), 0, 0) for _ in range(rng.randrange(0, 40))]
        fa = {f.hash for f in winnow(kgrams(a, CODE_K), CODE_WINDOW)}
        fb = {f.hash for f in winnow(kgrams(b, CODE_K), CODE_WINDOW)}
        assert fa & fb, trial
    short = [("a", 0, 0)] * (CODE_K - 1)
    assert winnow(kgrams(short, CODE_K), CODE_WINDOW) == []  # shorter than k: noise, no fingerprint


def test_winnowing_keeps_a_fraction_of_the_kgrams():
    grams = kgrams([(f"t{i % 37}", 0, 0) for i in range(2000)], CODE_K)
    picked = winnow(grams, CODE_WINDOW)
    assert len(grams) / CODE_WINDOW <= len(picked) * 1.5 and len(picked) < len(grams) / 2
    positions = [grams.index(p) for p in picked]
    assert all(b - a <= CODE_WINDOW for a, b in zip(positions, positions[1:]))  # no window without one


def test_text_ignores_case_punctuation_and_spacing_and_keeps_danish_letters():
    assert [w for w, _, _ in text_words("Læringsraten ER for stor!  Så  hopper vi...")] == [
        "læringsraten", "er", "for", "stor", "så", "hopper", "vi"]
    a = {f.hash for f in text_fingerprints("The loss, it EXPLODES: over-shooting.")}
    b = {f.hash for f in text_fingerprints("the loss it explodes over shooting")}
    assert a == b and a


# --- the comparison ----------------------------------------------------------------------------

def test_planted_pairs_rank_above_every_independent_pair():
    results, planted = _batch()
    comparison = compare([entry_of(r) for r in results], _base())
    ranked = [_names(comparison, p) for p in comparison.pairs]
    scores = {_names(comparison, p): p.score for p in comparison.pairs}
    top = ranked[:len(planted)]
    assert set(top) == planted, [(sorted(n), round(scores[n], 2)) for n in ranked[:6]]
    weakest_planted = min(scores[p] for p in planted)
    strongest_other = max((s for n, s in scores.items() if n not in planted), default=0.0)
    assert weakest_planted > strongest_other
    threshold = SimilaritySettings().threshold
    assert weakest_planted >= threshold and strongest_other < threshold
    assert {_names(comparison, p) for p in comparison.listed} == planted


def test_the_paraphrase_is_found_in_the_text_and_the_copies_in_the_code():
    results, _ = _batch()
    comparison = compare([entry_of(r) for r in results], _base())
    best = {_names(comparison, p): p.matches[0] for p in comparison.pairs}
    assert best[frozenset({"paraphraser", "student3"})].kind == "text"
    assert best[frozenset({"renamer", "student1"})].kind == "code"
    assert best[frozenset({"commenter", "student0"})].score == 1.0


def test_independent_solutions_sharing_only_the_stub_share_nothing():
    results, _ = _batch()
    independent = [entry_of(r) for r in results if r.name.startswith("student")]
    with_stub = compare(independent, _base())
    assert not with_stub.listed
    stub_cells = {STUB_DATA, STUB_HELPER}
    for pair in with_stub.pairs:  # what independent students share by chance (`for i in range(n):`)
        for match in pair.matches:
            for side, marks in zip((pair.a, pair.b), passages(with_stub, pair, match)):
                parts = with_stub.entries[side].parts["descent"]
                assert not any(parts[i].text in stub_cells for i in marks), "a stub cell was counted"
    # without the stub left out, its given cells are exactly what they all share: the test can fail
    without = compare(independent[:4], None)  # four: fewer than are ever "common"
    assert len(without.listed) == 6


def test_stub_code_never_counts_even_in_an_otherwise_identical_pair():
    a = entry_of(_submission("a", "", "", ""))
    b = entry_of(_submission("b", "", "", "", plot_first=True))
    assert compare([a, b], _base()).pairs == []
    assert compare([a, b], None).listed  # the same pair without a stub: the helper is shared


def test_what_most_of_the_batch_shares_is_left_out():
    forced = "clf = SGDClassifier(loss='perceptron', eta0=1, learning_rate='constant', penalty=None)\nclf.fit(X, y)\n"
    own = [f"w{i} = {i}\nfor j in range({i + 2}):\n    w{i} = w{i} * {i} - j ** {i}\n    print('step' * {i})\n"
           for i in range(10)]
    results = [SubmissionResult(name=f"s{i}", sandbox="t", questions=[
        QuestionResult("p.qd", "SGD", 1, code=[forced, own[i]])]) for i in range(10)]
    comparison = compare([entry_of(r) for r in results], None, SimilaritySettings(common_share=0.5))
    assert comparison.common.get(("p", "code"))
    assert not comparison.listed
    # the same line in only two of them is a match, not common
    comparison = compare([entry_of(r) for r in results[:2]] + [entry_of(SubmissionResult(
        name=f"x{i}", sandbox="t", questions=[QuestionResult("p.qd", "SGD", 1, code=[own[i]])])) for i in range(2, 10)],
        None, SimilaritySettings(common_share=0.5))
    assert [_names(comparison, p) for p in comparison.listed] == [frozenset({"s0", "s1"})]


def test_only_pairs_that_share_a_fingerprint_are_compared():
    results, _ = _batch()
    comparison = compare([entry_of(r) for r in results], _base())
    for pair in comparison.pairs:
        assert any(m.matched for m in pair.matches)
    disjoint = [entry_of(SubmissionResult(name=f"d{i}", sandbox="t", questions=[QuestionResult(
        "p.qa", "t", 1, code=[f"value_{i} = compute({i}, '{'x' * i}')\n" * (i + 1) + f"import mod{i}"])]))
        for i in range(6)]
    assert compare(disjoint, None).pairs == []


def test_highlighted_spans_are_the_shared_passage():
    shared = "for k in range(10):\n    acc = acc + weights[k] * inputs[k]\n    print(acc, k)\n"
    a = SubmissionResult(name="a", sandbox="t", questions=[QuestionResult("p.qa", "t", 1, code=[
        "import os\nos.listdir('.')\n", shared])])
    b = SubmissionResult(name="b", sandbox="t", questions=[QuestionResult("p.qb", "t", 1, code=[
        "# mine\n" + shared.replace("acc", "total")])])
    comparison = compare([entry_of(a), entry_of(b)])
    [pair] = comparison.listed
    marks_a, marks_b = passages(comparison, pair, pair.matches[0])
    assert list(marks_a) == [1] and list(marks_b) == [0]  # only the shared cells are marked
    [(start, end)] = marks_a[1]
    assert shared[start:end] == shared.rstrip("\n")
    [(start, end)] = marks_b[0]
    assert ("# mine\n" + shared.replace("acc", "total"))[start:end] == shared.replace("acc", "total").rstrip("\n")


# --- the report --------------------------------------------------------------------------------

def test_the_page_and_the_csv_are_inert_and_say_what_a_match_means():
    evil = "=HYPERLINK(\"http://x\")<script>alert(1)</script>\x1b[31m"
    code = f"payload = '{evil}'\nfor i in range(3):\n    payload = payload + str(i) * i\n    print(payload)\n"
    results = [SubmissionResult(name=n, source=evil if n == "a" else "", sandbox="t", questions=[
        QuestionResult("p.qa", "t", 1, code=[code], answer_text=f"{evil} is my answer to this question")])
        for n in ("a", "=1+2")]
    comparison = compare([entry_of(r) for r in results])
    page = similarity_page(comparison)
    assert "<script>" not in page and "\x1b" not in page and "&lt;script&gt;" in page
    assert MEANING.split(":")[0] in page and "<mark>" in page
    rows = list(csv.reader(io.StringIO(similarity_csv(comparison))))
    assert rows[0] == CSV_COLUMNS
    a_cells = {row[1] for row in rows[1:]} | {row[2] for row in rows[1:]}
    assert all(not cell.startswith("=") for cell in a_cells)
    assert {csv_uncell(cell) for cell in a_cells} == {f"a ({visible(evil)})", "=1+2"}
    assert "\x1b" not in similarity_csv(comparison)
    assert {row[6] for row in rows[1:]} == {"p.qa"} and {row[4] for row in rows[1:]} == {"code", "text"}


def test_code_cells_are_kept_as_plain_data_in_a_saved_result():
    result = _submission("s", DESCENTS[0], PLOTS[0], ANSWERS[0])
    again = SubmissionResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.questions[0].code == result.questions[0].code
    old = result.to_dict()
    for q in old["questions"]:
        del q["code"]  # a grading.json written before code was kept still reads
    assert SubmissionResult.from_dict(old).questions[0].code == []


# --- end to end: grade with the real grader, then `grader similarity OUT` -----------------------

TINY = REPO / "tests" / "assignments" / "tiny"


def test_grader_similarity_on_a_graded_folder(tmp_path, cache_dir):
    subs = tmp_path / "subs"
    for name in ("right", "wrong"):
        shutil.copytree(TINY / ".." / "tiny_submissions" / name, subs / name)
    nb = json.loads((subs / "right" / "squares.ipynb").read_text())
    for cell in nb["cells"]:  # a copy of `right`: a variable renamed, a comment added
        src = "".join(cell["source"])
        code = cell["cell_type"] == "code"
        cell["source"] = src.replace("x ** 2 for x", "n ** 2 for n") + ("  # squared" if code else "")
    (subs / "copy").mkdir()
    (subs / "copy" / "squares.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "out"
    env = {"ITMAL_CACHE_DIR": str(cache_dir), "COLUMNS": "300"}
    grade = [sys.executable, "-m", "grader.runners.cli", "grade", *map(str, sorted(subs.iterdir())), "--out", str(out),
             "--assignment", str(TINY), "--solutions", str(TINY / ".." / "tiny_solutions"), "--jobs", "2",
             "--profile", "quick"]
    done = subprocess.run(grade, capture_output=True, text=True, env=_env(env), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "similarity: 1 of 3 pairs" in done.stdout, done.stdout
    assert 'href="similarity.html"' in (out / "summary.html").read_text()
    saved = json.loads((out / "copy" / "grading.json").read_text())
    assert "n ** 2 for n" in saved["result"]["questions"][0]["code"][0]
    rows = list(csv.DictReader(io.StringIO((out / "similarity.csv").read_text())))
    assert {frozenset({r["submission_a"], r["submission_b"]}) for r in rows} == {frozenset({"copy", "right"})}
    assert {r["question"] for r in rows} == {"squares.qa", "squares.qb"}
    page = (out / "similarity.html").read_text()
    assert "<mark>" in page and "never an automatic penalty" in page
    assert "wrong" not in page.split("are listed below")[1]
    # the command alone, from the saved results, with a threshold above this pair's score
    again = [sys.executable, "-m", "grader.runners.cli", "similarity", str(out), "--assignment", str(TINY),
             "--threshold", "0.95"]
    done = subprocess.run(again, capture_output=True, text=True, env=_env(env), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "similarity: 0 of 3 pairs score 95% or more" in done.stdout
    assert (out / "similarity.csv").read_text().splitlines() == [",".join(CSV_COLUMNS)]


def _env(extra: dict) -> dict:
    import os

    return {**os.environ, **extra}

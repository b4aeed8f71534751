"""The anchors (issue 6, section 4): one three-question notebook graded by nbgrader
(`nbgrader autograde`), by otter-grader (`otter run`, no Docker) and by this grader, for N
identical submissions; per-submission seconds of each.

The anchors live in their own environment, benchmarks/.venv-anchors (benchmarks/setup_anchors.sh);
this module only builds the three assignments in a temporary folder and times the tools'
command lines. Used by benchmarks/run_all.py (`--only anchors`); runnable alone:

    ITMAL_MNIST_DIR=../shared/data/mnist .venv/bin/python benchmarks/anchors.py [--submissions 10]

The three questions (the same student code, the same tests, in each tool's format):
  1. batch gradient descent: `theta_gd` equals least squares (±1e-6)   [gradient_descent.qa]
  2. `Omega(w)`, the L2 penalty without the bias, on three vectors        [regularizers.qa]
  3. perceptron parity: SGDClassifier(loss='perceptron') and Perceptron score and predict
     identically                                                           [perceptron.qd]
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

REPO = Path(__file__).resolve().parent.parent
ANCHORS_VENV = Path(os.environ.get("ITMAL_ANCHORS_VENV") or REPO / "benchmarks" / ".venv-anchors")

# --- the student's code: identical in all three tools -------------------------------------
SETUP = """\
import numpy as np
from sklearn.datasets import make_moons
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.model_selection import train_test_split"""

Q1 = """\
np.random.seed(42)
X = 2 * np.random.rand(100, 1)
y = 4 + 3 * X + np.random.randn(100, 1)
X_b = np.c_[np.ones((100, 1)), X]  # add x0 = 1 to each instance

eta = 0.1
n_iterations = 1000
m = len(X_b)
theta = np.random.randn(2, 1)
theta_path_bgd = []
for iteration in range(n_iterations):
    gradients = 2 / m * X_b.T.dot(X_b.dot(theta) - y)
    theta = theta - eta * gradients
    theta_path_bgd.append(theta)
theta_gd = theta
print(theta_gd.ravel())"""

Q2 = """\
def Omega(w):
    w = np.asarray(w, dtype=float)
    return float(np.sum(w[1:] ** 2))  # w[0], the bias, is not penalized

print(Omega(np.array([1, 2, -3])))"""

Q3 = """\
X_m, y_m = make_moons(n_samples=1000, noise=0.1, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X_m, y_m, test_size=0.3, random_state=42)

SGDModel = SGDClassifier(loss='perceptron', eta0=1, learning_rate='constant', penalty=None, random_state=42, tol=1e-3)
SGDModel.fit(X_train, y_train)
SGDScore = SGDModel.score(X_test, y_test)

PerceptronModel = Perceptron(random_state=42, tol=1e-3)
PerceptronModel.fit(X_train, y_train)
PerceptronScore = PerceptronModel.score(X_test, y_test)
print(SGDScore, PerceptronScore)"""

# --- the tests the anchors run (ours has the same checks in grader/catalogue/) --------------
T1 = """\
import numpy as np
assert np.allclose(theta_gd.ravel(), np.linalg.lstsq(X_b, y.ravel(), rcond=None)[0], rtol=0, atol=1e-6)"""
T2 = """\
import numpy as np
assert np.isclose(Omega(np.array([1.0, 2.0, -3.0])), 13.0, rtol=1e-9)
assert np.isclose(Omega(np.array([1e10, -3e10])), 9e20, rtol=1e-9)
assert np.isclose(Omega(np.array([0.1, 0.2, -0.3, 0.0])), 0.13, rtol=1e-9)"""
T3 = """\
from sklearn.datasets import make_moons
assert SGDScore == PerceptronScore
X_held, _ = make_moons(n_samples=400, noise=0.1, random_state=20261124)
assert (SGDModel.predict(X_held) == PerceptronModel.predict(X_held)).all()"""

QUESTIONS = [("q1", "Batch gradient descent: theta", Q1, T1),
             ("q2", "The penalty Omega", Q2, T2),
             ("q3", "Perceptron parity", Q3, T3)]
# ours: the tags that place each cell in the catalogue's exercises and questions
OUR_TAGS = {"setup": ["gradient_descent.setup", "regularizers.setup", "perceptron.setup"],
            "q1": ["gradient_descent.qa"], "q2": ["regularizers.qa"], "q3": ["perceptron.qd"]}


def anchors_available() -> str | None:
    """None when both tools are installed, else why not."""
    for tool in ("nbgrader", "otter"):
        if not (ANCHORS_VENV / "bin" / tool).exists():
            return f"{ANCHORS_VENV / 'bin' / tool} not found: run benchmarks/setup_anchors.sh"
    return None


def tool_versions() -> dict[str, str]:
    out = {}
    if anchors_available() is not None:
        return out
    code = ("import importlib.metadata as m\n"
            "for p in ('nbgrader', 'otter-grader', 'nbclient', 'ipykernel', 'numpy', 'scikit-learn'):\n"
            "    print(p, m.version(p))")
    res = subprocess.run([str(ANCHORS_VENV / "bin" / "python"), "-c", code], capture_output=True, text=True)
    for line in res.stdout.splitlines():
        name, _, version = line.partition(" ")
        out[name] = version
    return out


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{ANCHORS_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(ANCHORS_VENV)
    env["JUPYTER_PATH"] = str(ANCHORS_VENV / "share" / "jupyter")  # the anchors' own python3 kernel
    env.pop("PYTHONPATH", None)
    return env


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


# --- ours --------------------------------------------------------------------------------
def our_notebook() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(new_markdown_cell("# Three questions"))
    nb.cells.append(new_code_cell(SETUP, metadata={"tags": OUR_TAGS["setup"]}))
    for qid, title, code, _ in QUESTIONS:
        nb.cells.append(new_markdown_cell(f"## {title}"))
        nb.cells.append(new_code_cell(code, metadata={"tags": OUR_TAGS[qid]}))
        if qid != "q2":  # ours also asks for a short text answer with these two questions (checked for presence)
            nb.cells.append(new_markdown_cell("The two results agree, as the tests below confirm.",
                                              metadata={"tags": [f"{OUR_TAGS[qid][0]}.answer"]}))
    return nb


def time_ours(n: int, config, tmp: Path) -> tuple[float, list]:
    """Seconds per submission: N single-notebook submissions, grade_batch with 1 worker."""
    from rich.console import Console

    from grader.runners.batch import grade_batch
    from grader.outputs.progress import BatchProgress

    src = tmp / "ours" / "in"
    src.mkdir(parents=True)
    paths = []
    for i in range(n):
        p = src / f"student{i:02d}.ipynb"
        nbformat.write(our_notebook(), p)
        paths.append(p)
    quiet = lambda k: BatchProgress(total=k, console=Console(file=io.StringIO()))  # noqa: E731
    grade_batch(paths[:1], tmp / "ours" / "warmup", config, jobs=1, progress=quiet(1))  # references cached
    start = time.monotonic()
    report = grade_batch(paths, tmp / "ours" / "out", config, jobs=1, progress=quiet(n))
    elapsed = time.monotonic() - start
    if report.failed or len(report.graded) != n:
        raise RuntimeError(f"ours: graded {len(report.graded)}/{n}, failed {report.failed}")
    return elapsed / n, report.results


# --- nbgrader ----------------------------------------------------------------------------
def _nbgrader_cell(source: str, grade_id: str, *, grade: bool, solution: bool, points: float = 0):
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return new_code_cell(source, metadata={"nbgrader": meta})


def nbgrader_course(root: Path, n: int) -> None:
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'bench'\n"
        "c.CourseDirectory.root = %r\n"
        "c.Exchange.root = %r\n"
        "c.ExecutePreprocessor.kernel_name = 'python3'\n"
        "c.ExecutePreprocessor.timeout = 120\n" % (str(root), str(root / "exchange")))
    (root / "exchange").mkdir()
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(new_markdown_cell("# Three questions"))
    nb.cells.append(_nbgrader_cell(SETUP, "setup", grade=False, solution=False))
    for qid, title, code, test in QUESTIONS:
        nb.cells.append(new_markdown_cell(f"## {title}"))
        nb.cells.append(_nbgrader_cell(f"### BEGIN SOLUTION\n{code}\n### END SOLUTION", f"{qid}_code",
                                       grade=False, solution=True))
        nb.cells.append(_nbgrader_cell(test, f"{qid}_test", grade=True, solution=False, points=1))
    src = root / "source" / "three"
    src.mkdir(parents=True)
    nbformat.write(nb, src / "three.ipynb")
    _run(["nbgrader", "db", "assignment", "add", "three"], root)
    _run(["nbgrader", "generate_assignment", "three", "--force"], root)
    # a submission: the released notebook with the student's code in the solution cells
    released = nbformat.read(root / "release" / "three" / "three.ipynb", as_version=4)
    answers = {f"{qid}_code": code for qid, _, code, _ in QUESTIONS}
    for cell in released.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    for i in range(n):
        student = f"student{i:02d}"
        _run(["nbgrader", "db", "student", "add", student], root)
        d = root / "submitted" / student / "three"
        d.mkdir(parents=True)
        nbformat.write(released, d / "three.ipynb")
        (d / "timestamp.txt").write_text("2026-11-24 12:00:00.000000 UTC")


def time_nbgrader(n: int, tmp: Path) -> tuple[float, float]:
    """Seconds per submission for `nbgrader autograde three` over N submissions (one command,
    sequential), and the mean score (of 3)."""
    root = tmp / "nbgrader"
    root.mkdir()
    nbgrader_course(root, n)
    start = time.monotonic()
    _run(["nbgrader", "autograde", "three", "--force"], root)
    elapsed = time.monotonic() - start
    code = ("from nbgrader.api import Gradebook\n"
            "import json\n"
            "with Gradebook('sqlite:///gradebook.db') as gb:\n"
            "    print(json.dumps([gb.find_submission('three', s.id).score for s in gb.students]))")
    scores = json.loads(_run([str(ANCHORS_VENV / "bin" / "python"), "-c", code], root).stdout)
    return elapsed / n, sum(scores) / len(scores)


# --- otter -------------------------------------------------------------------------------
def otter_master() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(new_raw_cell("# ASSIGNMENT CONFIG\nname: three\nexport_cell: false\ninit_cell: false\n"
                                 "check_all_cell: false\nrun_tests: false\ngenerate: true\n"
                                 "environment: null\nrequirements: null\n"))
    nb.cells.append(new_markdown_cell("# Three questions"))
    nb.cells.append(new_code_cell(SETUP))
    for qid, title, code, test in QUESTIONS:
        nb.cells.append(new_raw_cell(f"# BEGIN QUESTION\nname: {qid}\npoints: 1"))
        nb.cells.append(new_markdown_cell(f"## {title}"))
        nb.cells.append(new_raw_cell("# BEGIN SOLUTION"))
        nb.cells.append(new_code_cell(code))
        nb.cells.append(new_raw_cell("# END SOLUTION"))
        nb.cells.append(new_raw_cell("# BEGIN TESTS"))
        nb.cells.append(new_code_cell(f'""" # BEGIN TEST CONFIG\nhidden: true\n"""  # END TEST CONFIG\n{test}'))
        nb.cells.append(new_raw_cell("# END TESTS"))
        nb.cells.append(new_raw_cell("# END QUESTION"))
    return nb


def time_otter(n: int, tmp: Path) -> tuple[float, float]:
    """Seconds per submission for `otter run` (no Docker), one command per submission, and
    the mean score (of 3)."""
    root = tmp / "otter"
    root.mkdir()
    nbformat.write(otter_master(), root / "three.ipynb")
    _run(["otter", "assign", "three.ipynb", "dist"], root)
    zips = sorted((root / "dist" / "autograder").glob("*.zip"))
    if not zips:
        raise RuntimeError("otter assign made no autograder zip")
    student = nbformat.read(root / "dist" / "autograder" / "three.ipynb", as_version=4)  # the solution
    subs = []
    for i in range(n):
        p = root / "subs" / f"student{i:02d}.ipynb"
        p.parent.mkdir(exist_ok=True)
        nbformat.write(student, p)
        subs.append(p)
    scores = []
    start = time.monotonic()
    for i, p in enumerate(subs):
        out = root / "results" / p.stem
        out.mkdir(parents=True)
        _run(["otter", "run", "--no-logo", "-a", str(zips[-1]), "-o", str(out), str(p)], root)
        tests = json.loads((out / "results.json").read_text()).get("tests", [])
        scores.append(sum(t.get("score") or 0 for t in tests if t.get("name") in ("q1", "q2", "q3")))
    elapsed = time.monotonic() - start
    scores = [s for s in scores if s is not None]
    return elapsed / n, (sum(scores) / len(scores) if scores else float("nan"))


def measure(n: int, config) -> dict:
    """{tool: {"per_submission": s, "score": ...}} for ours, nbgrader and otter."""
    why = anchors_available()
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="itmal-anchors-") as tmp:
        tmp = Path(tmp)
        per, graded = time_ours(n, config, tmp)
        qs = [q for q in graded[0].questions if q.id in ("gradient_descent.qa", "regularizers.qa", "perceptron.qd")]
        if len(qs) != 3 or any(q.points != q.max_points for q in qs):  # else the tools did not do the same work
            raise RuntimeError("ours did not give the anchor notebook full points: "
                               + "; ".join(f"{q.id} {q.points:g}/{q.max_points:g}: {q.feedback()}" for q in qs))
        results["ours"] = {"per_submission": per,
                           "score": ", ".join(f"{q.id} {q.points:g}/{q.max_points:g}" for q in qs)}
        if why:
            results["nbgrader"] = results["otter"] = {"error": why}
            return results
        for name, fn in (("nbgrader", time_nbgrader), ("otter", time_otter)):
            try:
                per, score = fn(n, tmp)
                results[name] = {"per_submission": per, "score": f"{score:g}/3"}
            except Exception as exc:  # reported in BENCHMARKS.md rather than aborting the run
                results[name] = {"error": f"{type(exc).__name__}: {str(exc)[:1500]}"}
    return results


if __name__ == "__main__":
    import argparse

    sys.path.insert(0, str(REPO))
    from grader.grade import GradingConfig, default_solutions_dir
    from grader.kernel.sandbox import choose

    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        cfg = GradingConfig(sandbox=choose(require=False), solutions_dir=default_solutions_dir(), profile="quick",
                            cache_dir=Path(cache))
        print(json.dumps(measure(args.submissions, cfg), indent=1))

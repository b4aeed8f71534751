"""Issue 14: the README's "Students" section, followed literally on a fresh virtual environment.

The hand-out is this checkout without `solutions/` and `hidden/`, in a folder named
`itmal-grader`; the install command is read from the README itself, so the two cannot drift.
Then the student self-checks the typical-mistakes example with pytest, and a notebook calls
`check(...)` in a kernel of that environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow  # a fresh environment with TensorFlow: 1-3 minutes from pip's cache

README = (REPO / "README.md").read_text(encoding="utf-8")


def _students_section() -> str:
    start = README.index("## Students")
    end = README.index("\n## ", start + 3)
    return README[start:end]


def _install_command() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", _students_section(), re.S)
    lines = [ln.strip() for ln in blocks[0].splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("python3 -m pip install"), lines
    return lines[0]


def _hand_out(dest: Path) -> Path:
    """The grader folder the course hands out: the tracked files, less solutions and hidden checks."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    folder = dest / "itmal-grader"
    for name in files.decode().split("\0"):
        if not name or name.split("/")[0] in ("solutions", "hidden"):
            continue
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("the hand-out is made from the git checkout")
    home = tmp_path_factory.mktemp("student")
    handout = _hand_out(home)
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True, timeout=300)
    venv_bin = home / "venv" / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"  # as `source venv/bin/activate` does
    env["ITMAL_MNIST_DIR"] = os.environ.get("ITMAL_MNIST_DIR", "")
    done = subprocess.run(_install_command(), shell=True, cwd=home, env=env, capture_output=True, text=True,
                          timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home, handout, env


def test_the_installed_grader_ships_no_solutions_and_finds_its_stubs(student):
    home, _, env = student
    probe = textwrap.dedent("""
        import json, grader_journal2 as g, itmal_grader
        print(json.dumps({"solutions": str(g.ASSIGNMENT.solutions), "stubs": str(g.ASSIGNMENT.stubs),
                          "store": g.ASSIGNMENT.public_store.is_file(), "package": g.__file__}))
    """)
    done = subprocess.run([str(home / "venv/bin/python3"), "-c", probe], cwd=home, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert "site-packages" in seen["package"]  # the installed copy, not the checkout
    assert seen["solutions"] == "None" and seen["store"]
    assert seen["stubs"].endswith("grader_journal2/stubs")
    site = Path(seen["package"]).parent.parent
    assert not list(site.glob("**/solutions")) and not list(site.glob("**/nbsrc"))


def test_pytest_self_check_of_the_typical_mistakes_shows_the_wrong_perceptron(student):
    _, handout, env = student
    done = subprocess.run(
        [str(Path(env["PATH"].split(os.pathsep)[0]) / "pytest"),
         "--itmal-notebook=../../examples/submissions/group02-typical-mistakes/perceptron.ipynb"],
        cwd=handout / "assignments" / "journal2", env=env, capture_output=True, text=True, timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert re.search(r"FAILED \S*perceptron\.qd - wrong answer", out), out
    assert "SGDScore vs PerceptronScore: expected 0.85" in out  # the public store's reference score
    assert re.search(r"checked here: [\d.]+/[\d.]+ points; [\d.]+ more points are judged only by the "
                     r"instructor's run \(perceptron\.qa\)", out), out
    assert "SANDBOX" not in out.upper()


def test_check_in_a_notebook_of_the_students_environment(student, tmp_path):
    home, handout, env = student
    run = textwrap.dedent(f"""
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read({str(handout / 'assignments/journal2/regularizers.ipynb')!r}, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(
            "import numpy as np\\n"
            "def Omega(w):\\n    return float(np.sum(np.asarray(w, dtype=float) ** 2))  # the bias too\\n"
            "from itmal_grader import check\\ncheck('regularizers.qa')"))
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={{"metadata": {{"path": {str(tmp_path)!r}}}}}).execute()
        print("".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream"))
    """)
    done = subprocess.run([str(home / "venv/bin/python3"), "-c", run], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "regularizers.qa (The penalty Omega): 0/1.2857 points checked here" in done.stdout, done.stdout
    assert "Omega(w_a): expected 13, got 14; they differ by 1" in done.stdout

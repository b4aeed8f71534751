"""The similarity report on a generated batch (target: 300 submissions in under a minute).

    .venv/bin/python benchmarks/similarity.py [--submissions 300] [--seed 1]

Each generated submission answers all of Journal 2: per question, either the reference
solution's code with its variables renamed, lines dropped and lines of its own added (as
students who follow the same lecture write), or code of its own; text answers drawn from
shared course vocabulary. A few planted copies are added. The batch is written as the grader
writes it (one grading.json per submission) and `write_similarity` is timed end to end:
reading every grading.json and the stubs, fingerprinting, the index, the pairs, both files.
Prints a markdown table for BENCHMARKS.md, with the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.files import write_json_atomic  # noqa: E402
from grader.inputs.notebook import answer_text, locate_questions, read_notebook  # noqa: E402
from grader.judge.assignments import load  # noqa: E402
from grader.judge.outcomes import QuestionResult, SubmissionResult  # noqa: E402
from grader.judge.score import code_sources  # noqa: E402
from grader.outputs.similarity import SimilaritySettings  # noqa: E402
from grader.runners.similar import write_similarity  # noqa: E402

WORDS = ("the model data training test error loss learning rate gradient because so when we see that it is "
         "too high low large small overfits underfits capacity regularisation parameter score accuracy "
         "modellen data fejlen er for stor lille fordi så vi ser at det læringsraten kapacitet").split()
NAME = re.compile(r"\b([a-z_][a-z0-9_]*)\b")


def reference_parts() -> dict[str, tuple[list[str], str]]:
    """Per question id of Journal 2: the reference solution's code cells and answer."""
    assignment = load("journal2")
    parts = {}
    for exercise in assignment.exercises.values():
        nb = read_notebook(assignment.solutions / exercise.notebook)
        located = locate_questions(nb, [q.id for q in exercise.questions])
        for q in exercise.questions:
            cells = located[q.id]
            parts[q.id] = (code_sources(nb, cells), answer_text(nb, cells))
    return parts


def _vary(code: str, rng: random.Random) -> str:
    keep = ("for", "def", "import", "return", "print")
    names = sorted({n for n in NAME.findall(code) if len(n) > 2 and n not in keep})
    renamed = {n: f"{n[:2]}{rng.randrange(1000)}" for n in names if rng.random() < 0.5}
    code = NAME.sub(lambda m: renamed.get(m.group(1), m.group(1)), code)
    lines = [line for line in code.splitlines() if rng.random() > 0.3]
    for _ in range(rng.randrange(1, 6)):
        lines.insert(rng.randrange(len(lines) + 1), _own_line(rng))
    return "\n".join(lines)


def _own_line(rng: random.Random) -> str:
    v = f"v{rng.randrange(10_000)}"
    return rng.choice([f"{v} = np.linspace({rng.randrange(9)}, {rng.randrange(10, 99)}, {rng.randrange(5, 500)})",
                       f"print('{v}', {v}.shape if hasattr({v}, 'shape') else len({v}))",
                       f"{v} = [x * {rng.randrange(2, 9)} for x in range({rng.randrange(3, 30)}) if x % 2]",
                       f"plt.plot({v}, label='{rng.choice(WORDS)}')"])


def _own_code(rng: random.Random) -> str:
    return "\n".join(_own_line(rng) for _ in range(rng.randrange(3, 12)))


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(15, 80))) + "."


def generate(n: int, rng: random.Random, parts: dict) -> tuple[list[SubmissionResult], set[frozenset[str]]]:
    results, planted = [], set()
    for i in range(n):
        questions = []
        for qid, (code, answer) in parts.items():
            cells = [_vary(c, rng) if rng.random() < 0.7 else _own_code(rng) for c in code]
            text = _text(rng) if answer or rng.random() < 0.3 else ""
            questions.append(QuestionResult(qid, qid, 1, code=cells, answer_text=text))
        results.append(SubmissionResult(name=f"s{i:03d}", questions=questions, sandbox="generated"))
    for k in range(min(5, n // 2)):  # planted copies: another's questions, variables renamed
        source = results[k * 7 % n]
        copy = SubmissionResult.from_dict(source.to_dict())
        copy.name = f"s{n - 1 - k:03d}"
        for q in copy.questions:
            q.code = [c.replace("v", "w") for c in q.code]
        results[n - 1 - k] = copy
        planted.add(frozenset({source.name, copy.name}))
    return results, planted


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    results, planted = generate(args.submissions, rng, reference_parts())
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for r in results:
            (out / r.name).mkdir()
            write_json_atomic(out / r.name / "grading.json",
                              {"meta": {"submission": r.name, "config": "generated"}, "result": r.to_dict()})
        size = sum(f.stat().st_size for f in out.rglob("grading.json"))
        load_before = os.getloadavg()
        started = time.perf_counter()
        notes: list[str] = []
        comparison = write_similarity(out, "journal2", SimilaritySettings(), notes)
        seconds = time.perf_counter() - started
        load_after = os.getloadavg()
        report = (out / "similarity.html").stat().st_size
    n = len(results)
    listed = {frozenset({comparison.entries[p.a].name, comparison.entries[p.b].name}) for p in comparison.listed}
    cells = sum(len(q.code) for r in results for q in r.questions)
    print(f"| submissions | pairs | pairs sharing a fingerprint | listed | code cells | grading.json total "
          f"| similarity.html | time (read, fingerprint, index, report) |\n"
          f"{'| ---: ' * 8}|\n"
          f"| {n} | {comparison.total_pairs} | {len(comparison.pairs)} | {len(comparison.listed)} | {cells} "
          f"| {size / 2**20:.1f} MiB | {report / 2**10:.0f} KiB | {seconds:.1f} s |")
    print(f"\nload average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in load_before)} before, "
          f"{' '.join(f'{x:.2f}' for x in load_after)} after; {os.cpu_count()} CPUs; notes: {notes or 'none'}")
    print(f"planted copies listed: {len(planted & listed)} of {len(planted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

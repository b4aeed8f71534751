"""The cell model shared by every exercise's notebook source (see make_notebooks.py)."""

from __future__ import annotations

from dataclasses import dataclass

ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"
STUB_DEFAULT = ["# YOUR CODE HERE", "raise NotImplementedError()"]

# --------------------------------------------------------------------------------------------
# Cell model
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    key: str          # unique within the notebook; used as the nbformat cell id
    kind: str         # "markdown" | "code" | "answer"
    source: str
    tags: tuple[str, ...] = ()
    qid: str = ""     # for answer cells: the question id


def md(key: str, text: str) -> Cell:
    return Cell(key, "markdown", text.strip("\n"))


def setup(exercise: str, key: str, code: str) -> Cell:
    return Cell(key, "code", code.strip("\n"), (f"{exercise}.setup",))


def code(qid: str, key: str, src: str) -> Cell:
    return Cell(key, "code", src.strip("\n"), (qid,))


def answer(qid: str, text: str) -> Cell:
    key = qid.split(".", 1)[1] + "-answer"
    return Cell(key, "answer", " ".join(text.split()), (f"{qid}.answer",), qid)


def render_code(src: str, mode: str) -> str:
    """Keep the given code plus the solution ("solution") or the stub ("stub") regions."""
    out: list[str] = []
    state = "given"
    has_stub = False
    indent = ""
    for line in src.split("\n"):
        marker = line.strip()
        if marker == "#@solution":
            assert state == "given", f"nested #@solution in:\n{src}"
            state, has_stub, indent = "solution", False, line[: len(line) - len(line.lstrip())]
        elif marker == "#@stub":
            assert state == "solution", f"#@stub outside a solution region in:\n{src}"
            state, has_stub = "stub", True
        elif marker == "#@end":
            assert state in ("solution", "stub"), f"stray #@end in:\n{src}"
            if mode == "stub" and not has_stub:
                out.extend(indent + s for s in STUB_DEFAULT)
            state = "given"
        elif state == "given" or state == mode:
            out.append(line)
    assert state == "given", f"unterminated solution region in:\n{src}"
    return "\n".join(out).strip("\n")


# --------------------------------------------------------------------------------------------
# Shared text
# --------------------------------------------------------------------------------------------

def intro(title: str, lecture: str, extra: str = "") -> str:
    return f"""
# ITMAL Journal 2: {title}

Exercise {lecture} of the ITMAL course (Aarhus University), written for today's numpy and
Scikit-learn.

How to hand in: replace every `# YOUR CODE HERE` (and the `raise NotImplementedError()` or the
`= None` next to it) with your code, and every `YOUR ANSWER HERE` cell with your answer in a few
sentences. Keep the cells, their order, their tags and the variable names: the grader finds your
code and answers by them. Do not modify the setup cells, and make sure the notebook runs from top
to bottom (Kernel > Restart & Run All) before you hand it in.
{extra}"""


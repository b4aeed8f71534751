"""`grader grade PATH --out DIR`: grade a notebook or a folder of notebooks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from . import __version__

from .grade import GradingConfig, default_solutions_dir, grade_submission
from .files import write_json_atomic, write_text_atomic
from .report import gradescope_results, print_result, text_answers_markdown
from .sandbox import Limits, SandboxUnavailable, choose


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grader", description="Autograder for ITMAL Journal 2 notebooks.")
    p.add_argument("--version", action="version", version=f"itmal-grader {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade submissions (a notebook, or a folder of notebooks each)")
    g.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    g.add_argument("--out", type=Path, required=True, help="where results go: DIR/<submission>/results.json")
    g.add_argument("--solutions", type=Path, default=None,
                   help="reference solutions folder (default: $ITMAL_SOLUTIONS or the checkout's solutions/journal2)")
    g.add_argument("--hidden-checks", type=Path, default=None,
                   help="folder of the instructor's hidden checks (default: $ITMAL_HIDDEN_CHECKS)")
    g.add_argument("--require-sandbox", action="store_true", help="fail instead of running student code unsandboxed")
    g.add_argument("--no-sandbox", action="store_true", help="run kernels without bubblewrap (trusted code only)")
    g.add_argument("--profile", choices=("quick", "full"), default="full",
                   help="full: the course's data sizes and epochs (default); quick: subsets, for fast checks")
    g.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout, help="seconds per cell")
    g.add_argument("--notebook-timeout", type=float, default=Limits.notebook_timeout, help="seconds per notebook")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=False)
    try:
        sandbox = choose(require=args.require_sandbox, disable=args.no_sandbox)
    except SandboxUnavailable as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    config = GradingConfig(
        sandbox=sandbox,
        limits=Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout),
        solutions_dir=args.solutions or default_solutions_dir(),
        hidden_dir=args.hidden_checks,
        profile=args.profile,
    )
    status = 0
    used: set[str] = set()
    for path in args.paths:
        if not path.exists():
            console.print(f"[bold red]error:[/] no such file or folder: {path}")
            status = 2
            continue
        result = grade_submission(path, config)
        name = result.name
        for n in range(2, 10_000):  # two submissions with one folder name must not overwrite
            if name not in used:
                break
            name = f"{result.name}-{n}"
        used.add(name)
        out = args.out / name / "results.json"
        write_json_atomic(out, gradescope_results(result, show_hidden=False))
        write_text_atomic(out.parent / "answers.md", text_answers_markdown(result))
        print_result(result, console)
        console.print(f"results: {out}")
        if not result.final:
            console.print(f"[bold red]{result.name}: the grader failed on some checks; "
                          "these results are not final (see 'grader error' above)[/]")
            status = max(status, 3)
    return status


if __name__ == "__main__":
    sys.exit(main())

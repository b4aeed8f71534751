"""`grader grade PATH --out DIR`: grade a notebook or a folder of notebooks."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

from grader import __version__

from grader.grade import GradingConfig, default_solutions_dir
from grader.judge.assignments import load as load_assignment
from grader.runners.batch import BatchInputError, PrimingInterrupted, check_inputs, grade_batch
from grader.runners.settings import BESIDE, Settled, SettingsError, given_settings, settle, write_pin
from grader.outputs.gradebook import ManualSheetError
from grader.outputs.inert import label, terminal_text
from grader.files import write_text_atomic
from grader.outputs.lms_export import roster_csv
from grader.outputs.report import choice_text, plain_lines, print_result
from grader.outputs.similarity import SimilaritySettings
from grader.runners.bulk import ROSTER
from grader.runners.similar import write_similarity
from grader.sheets import SheetError, read_roster
from grader.kernel.sandbox import Limits, SandboxUnavailable, choose


ASSIGNMENT_HELP = ("an installed assignment's name or an assignment package's folder "
                   "(default: $ITMAL_ASSIGNMENT, else the only one installed)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grader", description="Autograder for ITMAL course notebooks.")
    p.add_argument("--version", action="version", version=f"itmal-grader {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade submissions: each a folder of notebooks, a zip of them, or one notebook")
    g.add_argument("paths", nargs="+", type=Path, metavar="SUBMISSION")
    g.add_argument("--out", type=Path, default=None,
                   help="output folder: gradebook.csv, summary.html, ..., <submission>/results.json "
                        "(required, here or in a configuration file)")
    g.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: cores)")
    g.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="grade on the workers of a running dask.distributed cluster (e.g. tcp://host:8786) "
                        "instead of --jobs local workers; outputs are written here as in a local run")
    g.add_argument("--force", action="store_true",
                   help="re-grade submissions already graded and unchanged; with settings that differ from "
                        "those pinned in --out, grade with them this once (the pin stays)")
    g.add_argument("--reconfigure", action="store_true",
                   help="pin this run's settings in --out (instead of stopping where they differ from the pin)")
    g.add_argument("--exercises", default=None, metavar="NAME,...",
                   help="grade only these exercises (default: all); the others keep their earlier results")
    g.add_argument("--manual", type=Path, default=None, metavar="CSV",
                   help="merge the instructor's points for text answers (the filled-in manual.csv); "
                        "nothing is executed again")
    g.add_argument("--assignment", default=None, metavar="NAME|DIR", help=ASSIGNMENT_HELP)
    g.add_argument("--solutions", type=Path, default=None,
                   help="reference solutions folder (default: $ITMAL_SOLUTIONS or the assignment's, in a checkout)")
    g.add_argument("--hidden-checks", type=Path, default=None,
                   help="folder of the instructor's hidden checks (default: $ITMAL_HIDDEN_CHECKS)")
    g.add_argument("--require-sandbox", action="store_true", help="fail instead of running student code unsandboxed")
    g.add_argument("--no-sandbox", action="store_true", help="run kernels without bubblewrap (trusted code only)")
    g.add_argument("--cold-kernels", action="store_true",
                   help="start every kernel afresh instead of forking it from a warm zygote (same grades, slower)")
    g.add_argument("--profile", choices=("quick", "full"), default=None,
                   help="full: the course's data sizes and epochs (default); quick: subsets, for fast checks")
    g.add_argument("--cell-timeout", type=float, default=None, help=f"seconds per cell (default {Limits.cell_timeout:g})")
    g.add_argument("--notebook-timeout", type=float, default=None,
                   help=f"seconds per notebook (default {Limits.notebook_timeout:g})")
    _similarity_options(g, prefix="similarity-")
    g.add_argument("--roster", type=Path, default=None, metavar="CSV",
                   help="who handed in what (columns submission, student_id, name): copied into --out for "
                        "export-grades")
    # similarity: pairs of submissions that share code or text (grader/runners/similar.py)
    m = sub.add_parser("similarity", help="write similarity.html and similarity.csv: pairs of graded submissions "
                                          "that share code or text (evidence to review; changes no score)")
    m.add_argument("out", type=Path, metavar="OUT", help="an output folder of `grader grade`")
    m.add_argument("--assignment", default=None, metavar="NAME|DIR", help=ASSIGNMENT_HELP)
    _similarity_options(m)
    x = sub.add_parser("export-grades", help="write the grades graded into a folder as a file an LMS imports")
    x.add_argument("graded", type=Path, metavar="DIR", help="the output folder of grader grade")
    x.add_argument("--format", required=True, choices=("brightspace", "canvas", "moodle", "csv"))
    x.add_argument("--out", type=Path, required=True, metavar="FILE", help="the file to write (CSV)")
    x.add_argument("--roster", type=Path, default=None, metavar="CSV",
                   help="submission -> students (columns submission, student_id, name, email); default: the "
                        "roster in DIR (from --roster or an LMS download); csv format: one row per submission")
    x.add_argument("--item", default="ITMAL Journal 2", help="the grade item's or assignment's name in the LMS")
    x.add_argument("--canvas-assignment-id", default="", metavar="ID",
                   help="Canvas: the existing assignment's id (without it Canvas creates a new assignment)")
    # export-gradescope: the autograder zip for Gradescope (grader/runners/gradescope.py)
    e = sub.add_parser("export-gradescope", help="write the Gradescope autograder zip (setup.sh, run_autograder, "
                                                 "hidden checks, the reference answers; never the solutions)")
    e.add_argument("--out", type=Path, required=True, metavar="ZIP")
    e.add_argument("--assignment", default=None, metavar="NAME|DIR", help=ASSIGNMENT_HELP)
    e.add_argument("--solutions", type=Path, default=None,
                   help="reference solutions, run here once (default: $ITMAL_SOLUTIONS or the checkout's)")
    e.add_argument("--hidden-checks", type=Path, default=None, help="folder of the instructor's hidden checks")
    e.add_argument("--exercises", default=None, help="comma-separated exercises to grade (default: all)")
    e.add_argument("--profile", choices=("quick", "full"), default="full")
    e.add_argument("--require-sandbox", action="store_true",
                   help="the autograder fails instead of grading unsandboxed where bubblewrap cannot run")
    e.add_argument("--no-sandbox", action="store_true", help="run the reference solutions here without bubblewrap")
    e.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout, help="seconds per cell")
    e.add_argument("--notebook-timeout", type=float, default=Limits.notebook_timeout, help="seconds per notebook")
    # build-public-store: the reference values public checks compare against (grader/judge/public_store.py)
    b = sub.add_parser("build-public-store", help="run the solutions and write the public reference store the "
                                                  "assignment ships (only the values public checks name)")
    b.add_argument("--assignment", default=None, metavar="NAME|DIR", help=ASSIGNMENT_HELP)
    b.add_argument("--solutions", type=Path, default=None,
                   help="reference solutions (default: $ITMAL_SOLUTIONS or the checkout's)")
    b.add_argument("--out", type=Path, default=None, metavar="JSON",
                   help="where to write it (default: public_reference.json in the assignment package)")
    b.add_argument("--exercises", default=None, help="comma-separated exercises (default: every one that needs it)")
    b.add_argument("--profile", choices=("quick", "full"), default="quick",
                   help="the profile students self-check with (default: quick)")
    b.add_argument("--no-sandbox", action="store_true", help="run the reference solutions without bubblewrap")
    return p


def _similarity_options(p: argparse.ArgumentParser, prefix: str = "") -> None:
    p.add_argument(f"--{prefix}threshold", type=float, default=SimilaritySettings.threshold, metavar="SCORE",
                   help="list pairs of submissions from this similarity score (0..1) up "
                        f"(default {SimilaritySettings.threshold})")
    p.add_argument(f"--{prefix}common-share", type=float, default=SimilaritySettings.common_share, metavar="SHARE",
                   help="leave out what at least this share of the batch has in common "
                        f"(default {SimilaritySettings.common_share})")


def _similarity(out: Path, assignment: str | None, settings: SimilaritySettings, console: Console,
                errors: Console, results=None) -> None:
    notes: list[str] = []
    comparison = write_similarity(out, assignment, settings, notes, results)
    for note in notes:
        errors.print(Text.assemble(("note:", "yellow"), " ", terminal_text(note, multiline=True)))
    if comparison is not None:
        console.print(terminal_text(f"similarity: {len(comparison.listed)} of {comparison.total_pairs} pairs score "
                                    f"{settings.threshold:.0%} or more; see {out / 'similarity.html'} "
                                    "(evidence to review, never a penalty) and similarity.csv"))


def build_public_store(args, console: Console) -> int:
    from grader.grade import reference_answers
    from grader.judge import public_store
    from grader.judge.reference import _versions

    config = GradingConfig(sandbox=choose(require=False, disable=args.no_sandbox), limits=Limits(),
                           solutions_dir=args.solutions or default_solutions_dir(args.assignment),
                           profile=args.profile, assignment=args.assignment)
    package = config.assignment_package()
    wanted = args.exercises.split(",") if args.exercises else list(package.exercises)
    unknown = [w for w in wanted if w not in package.exercises]
    if unknown or config.solutions_dir is None:
        console.print(_error("error:", f"unknown exercises: {', '.join(unknown)}" if unknown
                             else "no reference solutions: give --solutions"))
        return 2
    store = public_store.build({w: package.exercises[w] for w in wanted},
                               lambda ex: reference_answers(ex, config), args.profile, _versions())
    out = args.out or package.public_store
    public_store.write(out, store)
    n = sum(len(k) for qs in store["values"].values() for k in qs.values())
    console.print(terminal_text(f"wrote {n} public reference values of {len(store['values'])} exercises to {out}"))
    return 0


def _error(head: str, text: object) -> Text:
    """A red heading and text that may hold a student's (or anyone's) words: never markup,
    controls and escape sequences made visible."""
    return Text.assemble((head, "bold red"), " ", terminal_text(text, multiline=True))


SHOW_TABLES_UP_TO = 5  # submissions; a bigger batch gets the progress lines and summary.html


def _path(value: str | None) -> Path | None:
    return None if value is None else Path(value)


def _exercises(value: object, assignment: str | None) -> list[str] | None:
    """--exercises (a comma-separated string, or a file's list) checked against the assignment."""
    if value is None:
        return None
    names = [n for n in (re.split(r"[,\s]+", value) if isinstance(value, str) else value) if n]
    known = list(load_assignment(assignment).exercises)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        what = f"unknown exercise {', '.join(map(repr, unknown))}" if unknown else "no exercise named"
        raise SettingsError(f"--exercises: {what}; this assignment's exercises: {', '.join(known)}")
    return [n for n in known if n in names]


def _settings(args) -> Settled:
    """This run's settings (flags over configuration files over the pin in --out), checked and
    pinned; the command line checked for mistakes. Nothing is graded yet."""
    given, files = given_settings(args, args.paths, Path.cwd())
    # `submissions/*` names the grader.toml beside them too: a setting, not a stray file
    read = [Path(f) for f in files if Path(f).name == BESIDE]
    args.paths = [p for p in args.paths if not any(p.name == BESIDE and p.is_file() and p.samefile(f) for f in read)]
    if "out" not in given:
        raise SettingsError("--out is required (or `out` in a configuration file)")
    out, jobs = Path(given["out"].value), given["jobs"].value if "jobs" in given else os.cpu_count() or 1
    check_inputs(args.paths, out, jobs)
    run = settle(given, out, force=args.force, reconfigure=args.reconfigure)
    run.others.update(out=out, jobs=jobs, exercises=_exercises(run.others.get("exercises"), run.values["assignment"]))
    run.notes[:0] = [f"settings from {where}" for where in files]
    return run


def main(argv: list[str] | None = None) -> int:
    """Results (the tables, the closing line) go to stdout; errors, notes and progress to stderr."""
    args = _parser().parse_args(argv)
    console = Console(stderr=False)
    errors = Console(stderr=True, soft_wrap=True)  # an error is one line, however long
    if args.command == "export-grades":
        from grader.runners.export import export_command as export_grades_command

        return export_grades_command(args, console)
    if args.command == "build-public-store":
        return build_public_store(args, console)
    if args.command == "export-gradescope":
        from grader.runners.gradescope import export_command

        return export_command(args, console)
    if args.command == "similarity":
        if not args.out.is_dir():
            errors.print(_error("error:", f"no such output folder: {args.out}"))
            return 2
        _similarity(args.out, args.assignment, SimilaritySettings(args.threshold, args.common_share), console, errors)
        return 0
    try:
        run = _settings(args)
    except (SettingsError, BatchInputError) as exc:  # surely a mistake: stops before the sandbox is probed
        errors.print(_error("error:", exc))
        return 2
    values, out = run.values, run.others["out"]
    try:  # a roster that cannot be read stops here too
        roster = read_roster(args.roster) if args.roster is not None else None
    except (OSError, SheetError) as exc:
        errors.print(_error("error:", f"cannot use --roster {args.roster}: {getattr(exc, 'strerror', None) or exc}"))
        return 2
    try:
        sandbox = choose(require=values["sandbox"] == "required", disable=values["sandbox"] == "off")
    except SandboxUnavailable as exc:
        errors.print(_error("error:", exc))
        return 2
    write_pin(run)  # only now: a run stopped by a mistake pins nothing
    config = GradingConfig(
        sandbox=sandbox,
        limits=Limits(cell_timeout=values["cell-timeout"], notebook_timeout=values["notebook-timeout"]),
        solutions_dir=_path(values["solutions"]),
        hidden_dir=_path(values["hidden-checks"]),
        profile=values["profile"],
        assignment=values["assignment"],
        warm_kernels=not args.cold_kernels,
    )
    plain = not console.is_terminal  # a log (CI, cron, | tee): lines, never a squeezed table

    def finished(result):
        for line in plain_lines(result):
            print(line, flush=True)

    status = 0
    try:
        report = grade_batch(args.paths, out, config, jobs=run.others["jobs"], force=args.force, manual=args.manual,
                             cluster=run.others.get("cluster"), exercises=run.others.get("exercises"),
                             on_result=finished if plain else None)
    except (BatchInputError, ManualSheetError, ConnectionError) as exc:  # ConnectionError: the --cluster is unreachable
        errors.print(_error("error:", exc))
        return 2
    except PrimingInterrupted:
        errors.print(_error("interrupted:", "stopped while running the reference solutions; nothing was graded "
                                            "(those finished are cached)"))
        return 130
    except KeyboardInterrupt:
        errors.print(_error("interrupted:", "finished submissions are saved; run the same command to go on"))
        return 130
    if roster is not None:
        write_text_atomic(out / ROSTER, roster_csv(roster))
    for note in [*run.notes, *report.notes]:  # after grading: a run stopped by a mistake says one line
        errors.print(Text.assemble(("note:", "yellow"), " ", terminal_text(note, multiline=True)))
    if plain:  # the graded ones were shown as they finished
        for result in report.results:
            if result.name in report.skipped:
                print("\n".join(plain_lines(result, "unchanged, not re-graded")), flush=True)
    elif len(report.results) <= SHOW_TABLES_UP_TO:
        for result in report.results:
            print_result(result, console)
    if plain or len(report.results) > SHOW_TABLES_UP_TO:  # no tables: the duplicate notebooks' choice, a line each
        for result in report.results:
            for choice in result.choices:
                console.print(terminal_text(f"{label(result.name, result.source)}: duplicate notebooks: "
                                            f"{choice_text(choice)}"))
    not_final = [label(r.name, r.source) for r in report.results if not r.final]
    console.print(terminal_text(f"graded {len(report.graded)}, skipped {len(report.skipped)} (unchanged); "
                                f"outputs in {out}: gradebook.csv ({len(report.book)} submissions), "
                                "summary.html, leaderboard.csv, manual.csv, "
                                "<submission>/results.json and feedback.html"), soft_wrap=True)
    if len(report.book) > 1:
        try:  # the grades are written; a failed report costs only itself
            _similarity(out, values["assignment"], SimilaritySettings(args.similarity_threshold,
                                                                      args.similarity_common_share),
                        console, errors, report.book)
        except Exception as exc:
            errors.print(_error("the similarity report was not written:", f"{type(exc).__name__}: {exc}"))
    if not_final:
        errors.print(_error("not final (the grader failed on some checks; re-run to re-grade):", ", ".join(not_final)))
        status = 3
    if not report.results:
        errors.print(_error("error:", "nothing was graded (see the notes above)"))
        status = 2
    return status


if __name__ == "__main__":
    sys.exit(main())

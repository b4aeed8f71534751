"""Results: what happened to each check, question and submission. Plain data, JSON-able."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum

# A question may record these metrics; the gradebook ranks submissions by the first.
LEADERBOARD_METRIC = "search_quest_f1_micro"
LEADERBOARD_MODEL = "search_quest_model"


class Outcome(str, Enum):
    """Why a check or question got the points it got. The kinds are kept apart on purpose:
    a wrong answer, a missing answer and code that crashed need different feedback, and a
    grader failure must never cost the student points."""

    PASSED = "passed"
    WRONG = "wrong"
    MISSING = "missing"
    CODE_FAILED = "code_failed"
    TIMED_OUT = "timed_out"
    KERNEL_DIED = "kernel_died"
    NOT_CHECKED = "not_checked"  # cannot be checked here (e.g. no reference run); not scored
    # A self-check: every check run here passed, and the others are left to the instructor's
    # run. Never "passed": the points left to the instructor are not earned yet.
    PARTLY_CHECKED = "partly_checked"
    GRADER_ERROR = "grader_error"  # scores 0 but makes the result not final: re-grade it

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outcome.PASSED: "passed",
    Outcome.WRONG: "wrong answer",
    Outcome.MISSING: "missing (not attempted)",
    Outcome.CODE_FAILED: "student code failed",
    Outcome.TIMED_OUT: "timed out",
    Outcome.KERNEL_DIED: "kernel died",
    Outcome.NOT_CHECKED: "not checked here; judged by the instructor",
    Outcome.PARTLY_CHECKED: "passed here; rest judged by the instructor",
    Outcome.GRADER_ERROR: "grader error (will be re-graded, not counted against you)",
}

# Checks left out of the score: they could not be judged where the grader ran (a student's
# self-check has no reference run). A grader error is *not* left out, which would hand out
# the points of the checks that broke; it scores 0 and marks the whole result not final, so
# it is re-graded rather than recorded (the CLI exits 3): never silently the student's loss.
UNSCORED = (Outcome.NOT_CHECKED,)


@dataclass
class CheckResult:
    name: str
    outcome: Outcome
    message: str = ""
    weight: float = 1.0
    hidden: bool = False
    # An instructor's manual grade (0..1 of this check's weight) replaces pass/fail in the score.
    manual_credit: float | None = None
    manual_comment: str = ""

    @property
    def scored(self) -> bool:
        return self.outcome not in UNSCORED

    @property
    def credit(self) -> float:
        if self.manual_credit is not None:
            return self.manual_credit
        return 1.0 if self.outcome is Outcome.PASSED else 0.0


@dataclass
class QuestionResult:
    id: str
    title: str
    max_points: float
    checks: list[CheckResult] = field(default_factory=list)
    answer_text: str = ""  # the student's text answer, for the instructor to read
    # The sources of the question's code cells, for the similarity report (plain text, capped).
    code: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # base64 PNGs the question's cells showed
    # Plain numbers a check measured for reports (e.g. the Search Quest's held-out f1_micro).
    metrics: dict[str, float | str] = field(default_factory=dict)
    optional: bool = False  # optional in the course: unanswered, it does not send the journal back
    # A function question: its points only when every check judged passed (Question.all_or_nothing).
    all_or_nothing: bool = False

    @property
    def unanswered(self) -> bool:
        """Some part (code or text) was not attempted at all."""
        return any(c.outcome is Outcome.MISSING for c in self.checks)

    @property
    def points(self) -> float:
        """Partial credit: the weighted share of all its checks that passed (none at all for an
        all-or-nothing question with a failed check). A check left out of the score (not
        checked here) earns nothing here; its share is `unchecked_points`."""
        total = sum(c.weight for c in self.checks)
        if not total:
            return 0.0
        if self.all_or_nothing and any(c.scored and c.credit < 1.0 for c in self.checks):
            return 0.0
        got = sum(c.weight * c.credit for c in self.checks if c.scored)
        return round(self.max_points * got / total, 4)

    @property
    def checked_max_points(self) -> float:
        """The most points the checks judged here can give (max_points when all were judged)."""
        total = sum(c.weight for c in self.checks)
        if not total:
            return self.max_points
        return round(self.max_points * sum(c.weight for c in self.checks if c.scored) / total, 4)

    @property
    def unchecked_points(self) -> float:
        """The points of the checks not judged here (left to the instructor's run):
        checked_max_points + unchecked_points == max_points."""
        return round(self.max_points - self.checked_max_points, 4)

    def check_max_points(self, check: "CheckResult") -> float:
        """The points one check is worth within this question."""
        total = sum(c.weight for c in self.checks)
        return round(self.max_points * check.weight / total, 4) if total else 0.0

    @property
    def outcome(self) -> Outcome:
        """The question's headline: passed, or the first way it fell short."""
        if any(c.outcome is Outcome.GRADER_ERROR for c in self.checks):
            return Outcome.GRADER_ERROR
        for c in self.checks:
            if c.scored and c.outcome is not Outcome.PASSED:
                return c.outcome
        if self.checks and all(c.outcome is Outcome.NOT_CHECKED for c in self.checks):
            return Outcome.NOT_CHECKED
        if any(c.outcome is Outcome.NOT_CHECKED for c in self.checks):
            return Outcome.PARTLY_CHECKED
        return Outcome.PASSED

    def feedback(self, *, show_hidden: bool = True) -> str:
        lines = []
        if self.all_or_nothing and self.points == 0 and any(c.outcome is Outcome.PASSED for c in self.checks):
            lines.append("- all or nothing: a function earns its points only when it is right on every input "
                         "checked; right on some inputs only is wrong in general")
        for c in self.checks:
            if c.manual_comment:
                lines.append(f"- {c.name} (graded by hand): {c.manual_comment}")
            if c.outcome is Outcome.PASSED:
                continue
            if c.hidden and not show_hidden:
                lines.append(f"- hidden check: {c.outcome.label}")
            elif c.message.startswith(c.name):
                lines.append(f"- {c.message}")
            else:
                lines.append(f"- {c.name}: {c.message}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["points"] = self.points
        d["outcome"] = self.outcome.value
        for c in d["checks"]:
            c["outcome"] = c["outcome"].value
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "QuestionResult":
        checks = [CheckResult(**{**c, "outcome": Outcome(c["outcome"])}) for c in d["checks"]]
        fields = {k: v for k, v in d.items() if k not in ("checks", "points", "outcome")}
        return cls(**fields, checks=checks)


RESUBMIT_AFTER = 2  # unanswered sub-questions that send a journal back (the course's rule)


@dataclass
class SubmissionResult:
    name: str  # the output folder's name (safe, stable, distinct)
    questions: list[QuestionResult]
    sandbox: str
    notes: list[str] = field(default_factory=list)
    # Seconds its kernels ran, up to any hidden checks' requests (whose time is the student's
    # to choose and must reach no output).
    seconds: float = 0.0
    source: str = ""  # the file or folder name as handed in (raw student text: make it inert to show it)
    # Exercises with several notebooks: which was graded, which ignored and why (inputs.duplicates);
    # file names are the student's: make them inert to show them.
    choices: list[dict] = field(default_factory=list)

    @property
    def points(self) -> float:
        return round(sum(q.points for q in self.questions), 4)

    @property
    def max_points(self) -> float:
        return round(sum(q.max_points for q in self.questions), 4)

    @property
    def unchecked_points(self) -> float:
        """Points not judged where this ran (a self-check): left to the instructor's run."""
        return round(sum(q.unchecked_points for q in self.questions), 4)

    @property
    def unanswered(self) -> list[str]:
        """The required sub-questions left unanswered (optional ones never count)."""
        return [q.id for q in self.questions if q.unanswered and not q.optional]

    @property
    def verdict(self) -> str:
        """The course's rule: two or more sub-questions unanswered sends the journal back."""
        return "resubmit" if len(self.unanswered) >= RESUBMIT_AFTER else "pass"

    @property
    def final(self) -> bool:
        """False when the grader itself failed somewhere: the score must be re-graded, not used."""
        return not any(c.outcome is Outcome.GRADER_ERROR for q in self.questions for c in q.checks)

    def to_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "sandbox": self.sandbox, "notes": list(self.notes),
                "points": self.points, "max_points": self.max_points, "verdict": self.verdict,
                "final": self.final, "questions": [q.to_dict() for q in self.questions],
                "choices": list(self.choices)}

    @classmethod
    def from_dict(cls, d: dict) -> "SubmissionResult":
        return cls(name=d["name"], source=d.get("source", ""), sandbox=d["sandbox"], notes=list(d.get("notes", [])),
                   questions=[QuestionResult.from_dict(q) for q in d["questions"]],
                   choices=list(d.get("choices", [])))

"""The check functions every exercise uses. They run in the grader process, on plain data.

Each `check_*` returns nothing when the answer is right and raises `CheckFailed` when it is
not, with a message that says what was expected, what was got, and how far apart they are.

The tolerance rule (one rule, everywhere): a number `got` matches `expected` when

    |got - expected| <= atol + rtol * |expected|

element by element, as `numpy.isclose` defines it; NaN and infinity never match.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from grader.judge.outcomes import Outcome


class CheckFailed(Exception):
    """A check did not pass; `outcome` says in which way, `message` says it to the student."""

    def __init__(self, outcome: Outcome, message: str):
        super().__init__(message)
        self.outcome = outcome
        self.message = message


def wrong(message: str) -> CheckFailed:
    return CheckFailed(Outcome.WRONG, message)


def _fmt(x: Any) -> str:
    """Numbers as a student would write them: 6 significant digits, long arrays shortened."""
    arr = np.asarray(x)
    if arr.size == 1:
        v = arr.reshape(-1)[0].item()
        return f"{v:.6g}" if isinstance(v, float) else str(v)
    flat = arr.reshape(-1)
    items = [f"{v:.6g}" if arr.dtype.kind == "f" else str(v) for v in flat[:6]]
    if flat.size > 6:
        items.append(f"... ({flat.size} values)")
    return "[" + ", ".join(items) + "]"


def describe(value: Any, limit: int = 80) -> str:
    """A short, safe description of a student's value for a message: never raises, never
    builds a huge text (an int of 10**6 digits, a list of a million items)."""
    if type(value) is int and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (list, tuple, dict)) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value)
    except Exception:  # e.g. a nested list holding a 10**5-digit int
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[:limit] + "..."


def as_numbers(name: str, got: Any) -> np.ndarray:
    """`got` as a float array, or a CheckFailed that says what kind of value it was.
    Numbers of any plain numeric type count as the numbers they are (bool excepted);
    an integer beyond the float range, complex numbers and ragged lists are wrong answers."""
    if isinstance(got, (bool, np.bool_)) or (isinstance(got, np.ndarray) and got.dtype.kind == "b"):
        raise wrong(f"{name} should be a number, but it is a boolean ({describe(got)})")
    if isinstance(got, str):
        raise wrong(f"{name} should be a number, but it is a text: {got[:60]!r}")
    if isinstance(got, (complex, np.complexfloating)) or (isinstance(got, np.ndarray) and got.dtype.kind == "c"):
        raise wrong(f"{name} should be a real number, but it is complex ({describe(got)})")
    try:
        arr = np.asarray(got, dtype=float)
    except OverflowError:
        raise wrong(f"{name} holds a number too large for a floating-point number ({describe(got)})") from None
    except (TypeError, ValueError, RecursionError):
        raise wrong(f"{name} should be numeric, but it is {type(got).__name__}: {describe(got)}") from None
    return arr


def check_close(name: str, expected: Any, got: Any, *, rtol: float = 1e-7, atol: float = 0.0,
                scalar: bool = False) -> None:
    """`got` equals `expected` within the tolerance rule; shapes are compared squeezed
    ((2, 1) and (2,) both hold two numbers, as students write them either way). With
    `scalar`, the shape is part of the answer: one number, not an array holding one."""
    exp = np.asarray(expected, dtype=float)
    arr = as_numbers(name, got)
    if scalar and arr.ndim != 0:
        raise wrong(f"{name} should be a single number (a scalar), but it is an array of shape {arr.shape}"
                    f"{' holding ' + _fmt(arr) if arr.size else ''}; expected {_fmt(exp)}")
    if arr.size != exp.size:
        raise wrong(f"{name} should hold {exp.size} number(s) (shape {exp.shape}), "
                    f"but it holds {arr.size} (shape {arr.shape})")
    arr, exp = arr.reshape(-1), exp.reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise wrong(f"{name} contains NaN or infinity: got {_fmt(arr)}, expected {_fmt(exp)}")
    allowed = atol + rtol * np.abs(exp)
    diff = np.abs(arr - exp)
    if np.all(diff <= allowed):
        return
    worst = int(np.argmax(diff - allowed))
    where = f" at position {worst}" if arr.size > 1 else ""
    raise wrong(
        f"{name}: expected {_fmt(exp)}, got {_fmt(arr)}; "
        f"they differ by {diff[worst]:.3g}{where}, more than the {allowed[worst]:.3g} allowed"
    )


def check_reported(name: str, computation: str, recomputed: Any, got: Any, *, rtol: float = 0.0,
                   atol: float = 1e-9) -> None:
    """A number the student reports agrees with the computation behind it, redone by the grader
    on the student's own objects (`computation` says which): a typed-in value does not."""
    try:
        check_close(name, recomputed, got, rtol=rtol, atol=atol)
    except CheckFailed as exc:
        raise wrong(f"{exc.message}. {name} should be what {computation} gives for your own objects, "
                    f"which the grader recomputed ({_fmt(recomputed)}); a number typed in or left over "
                    f"from another computation does not count") from None


def check_equal(name: str, expected: Any, got: Any) -> None:
    """Exact equality, for labels, counts and texts."""
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        a, b = np.asarray(expected), np.asarray(got)
        if a.shape != b.shape:
            raise wrong(f"{name} should have shape {a.shape}, but it has shape {b.shape}")
        bad = np.flatnonzero(a.ravel() != b.ravel())
        if bad.size:
            raise wrong(f"{name}: {bad.size} of {a.size} values differ from the expected ones "
                        f"(first at position {bad[0]}: expected {a.ravel()[bad[0]]}, got {b.ravel()[bad[0]]})")
        return
    if type(got) is not type(expected) or got != expected:
        raise wrong(f"{name}: expected {describe(expected)}, got {describe(got)}")


def check_between(name: str, got: Any, *, low: float | None = None, high: float | None = None) -> None:
    """A threshold: low <= got <= high (either bound may be left out)."""
    arr = as_numbers(name, got)
    if arr.size != 1:
        raise wrong(f"{name} should be a single number, but it holds {arr.size}")
    x = float(arr.reshape(-1)[0])
    if not np.isfinite(x):
        raise wrong(f"{name} is {x}, not a finite number")
    if low is not None and x < low:
        raise wrong(f"{name} is {x:.6g}, below the required {low:.6g} (short by {low - x:.3g})")
    if high is not None and x > high:
        raise wrong(f"{name} is {x:.6g}, above the allowed {high:.6g} (over by {x - high:.3g})")


def check_agreement(name: str, a: Any, b: Any, *, at_least: float = 1.0) -> None:
    """Two label vectors agree on at least this share of positions (1.0: identical)."""
    try:
        a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise wrong(f"{name}: the predictions are not a flat list of labels") from None
    if a.shape != b.shape:
        raise wrong(f"{name}: the two models returned {a.size} and {b.size} predictions")
    share = float(np.mean(a == b)) if a.size else 0.0
    if share < at_least:
        raise wrong(f"{name}: the two models agree on {share:.1%} of the inputs; "
                    f"expected at least {at_least:.1%} (short by {at_least - share:.1%})")


def check_figure(name: str, figures: list[str]) -> None:
    """At least one image was displayed by the question's cells."""
    for png in figures:
        try:
            if base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n":
                return
        except (binascii.Error, ValueError):
            continue
    raise CheckFailed(Outcome.MISSING, f"{name}: no figure was shown; the cell should end with a plot (plt.show())")


def check_text_answered(name: str, text: str, *, min_words: int = 5) -> None:
    """A text answer is there: not empty, not the placeholder, at least a few words."""
    words = len(text.split())
    if words == 0:
        raise CheckFailed(Outcome.MISSING, f"{name}: the answer cell is empty or still says 'YOUR ANSWER HERE'")
    if words < min_words:
        raise CheckFailed(Outcome.MISSING,
                          f"{name}: the answer has {words} word(s); at least {min_words} are expected")

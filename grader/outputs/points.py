"""Points as an instructor writes them: at most two decimals (46.99, not 46.9909; 3, not
3.00), in every CSV and page. results.json and grading.json keep the full value."""

from __future__ import annotations

import math


def points(value: float) -> str:
    """`value` rounded to two decimals, without trailing zeros; never `-0`."""
    if not math.isfinite(value):
        return str(value)
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def points_of(got: float, maximum: float) -> str:
    return f"{points(got)} / {points(maximum)}"

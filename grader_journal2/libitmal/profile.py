"""The grading profile a notebook runs under, chosen by the grader, never by the notebook.

`full` (the default, e.g. in a student's own Jupyter) uses the course's sizes; `quick` uses
subsets and fewer epochs for fast self-checks and tests. The grader sets ITMAL_PROFILE in
the kernel's environment; notebooks ask `choose(quick=..., full=...)`.
"""

import os

PROFILES = ("quick", "full")
PROFILE = os.environ.get("ITMAL_PROFILE", "full")
if PROFILE not in PROFILES:
    PROFILE = "full"


def choose(*, quick, full):
    """The value for the profile in force: `quick` under the quick profile, else `full`."""
    return quick if PROFILE == "quick" else full

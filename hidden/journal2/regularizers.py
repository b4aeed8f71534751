"""Hidden checks for regularizers.qa: Omega on vectors the student never saw.

Instructor-only: not shipped with the assignment, and never visible inside the sandbox.
Feedback for these says only passed/failed, never the inputs.
"""

import numpy as np

from grader_journal2.regularizers import omega_check

HIDDEN_CHECKS = {
    "regularizers.qa": [
        omega_check("hidden length-1 vector", np.array([7.5]), hidden=True),
        omega_check("hidden integer vector", np.array([3, -4, 12], dtype=np.int64), hidden=True),
        omega_check("hidden negative vector", np.array([-2.0, -1.5, -0.5, -4.0]), hidden=True),
        omega_check("hidden large vector", np.array([3e10, 1e10, -2e10, 5e9]), hidden=True),
    ],
}

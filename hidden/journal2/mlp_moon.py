"""Instructor-only checks of mlp_moon.qa and .qc: the student's models against the reference
run's Adam model on moons drawn with this seed. It never ships with the assignment: make_moons
with a known seed gives the labels too. Feedback is full (INSTRUCTOR checks, not hidden ones):
it shows only the accuracies the grader measured."""

from grader_journal2.mlp_moon import held_out_accuracy_check

HELD_OUT_SEED = 90417263

INSTRUCTOR_CHECKS = {
    "mlp_moon.qa": [held_out_accuracy_check("model_sgd", seed=HELD_OUT_SEED)],
    "mlp_moon.qc": [held_out_accuracy_check("model_tuned", seed=HELD_OUT_SEED)],
}

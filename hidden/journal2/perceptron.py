"""Instructor-only check of perceptron.qa: model_qa against the reference Perceptron on moons
drawn with this seed. It never ships with the assignment: make_moons with a known seed gives the
labels too. Feedback is full (an INSTRUCTOR check, not a hidden one): it shows only what the
grader measured."""

from grader_journal2.perceptron import qa_model_check

HELD_OUT_SEED = 58213907

INSTRUCTOR_CHECKS = {"perceptron.qa": [qa_model_check(HELD_OUT_SEED)]}

"""Neurons (L09): two text questions; their content is for the instructor to read."""

from __future__ import annotations

from grader.judge.catalogue import Exercise, Question, text_answer

EXERCISE = Exercise(
    name="neurons",
    title="Neurons",
    questions=(
        Question("neurons.qa", "How a neuron communicates; the brain's structure", 0.5, (text_answer(),)),
        Question("neurons.qb", "Cognition", 0.5, (text_answer(),)),
    ),
)

"""The tiny assignment's course helper: copied into every kernel, imported by the notebook."""

NUMBERS = [1, 2, 3, 4]

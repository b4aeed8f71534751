"""The ITMAL course helpers, as the course's notebooks import them (`from libitmal import ...`).

The grader copies this package into every kernel's scratch directory, so notebooks import it
the same way whether they run in Jupyter on a student's machine or inside the grader.
"""

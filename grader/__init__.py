"""itmal-grader: a sandboxed, pytest-driven autograder for ITMAL Journal 2 notebooks."""

__version__ = "0.1.0"

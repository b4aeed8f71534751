"""itmal-grader: a sandboxed, pytest-driven autograder for ITMAL course notebooks.

The package shows the pipeline, one stage a folder, data flowing one way:

- `kernel/`  everything that touches the student's process: sandbox, kernel manager, cgroups,
             executing cells, the requests sent in and the plain data that comes back.
- `inputs/`  what is handed to the grader: submissions, notebooks, data sets (MNIST).
- `judge/`   the catalogue model (Exercise, Question, Check), check functions, scoring,
             outcomes, reference answers, and the registry of assignments.
- `outputs/` results.json, the gradebook, feedback and summary pages, progress.
- `runners/` the CLI batch, workers, the Dask cluster, Gradescope, the pytest plugin.
- `grade.py` one submission: inputs -> kernel -> judge (the only module that sees them all).

Imports run one way: `runners` -> `grade` -> `inputs`, `kernel`, `judge`, `outputs`.
`outputs` may use `judge`'s result types; `kernel`, `inputs` and `judge` never import `outputs`
or `runners`, and `kernel` imports no other stage. `files.py` (atomic writes) is a leaf any
stage may use. No engine module names an assignment: assignments (Journal 2 is
`grader_journal2`) are packages found through `judge/assignments.py`.
tests/test_layout.py enforces these rules.
"""

__version__ = "0.1.0"

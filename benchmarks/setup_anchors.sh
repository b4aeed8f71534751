#!/usr/bin/env bash
# Installs the two anchor tools (nbgrader, otter-grader) from PyPI into a separate virtual
# environment, benchmarks/.venv-anchors, used only by benchmarks/anchors.py (issue 6, section 4).
# Needs uv (https://docs.astral.sh/uv/) or falls back to python -m venv + pip.
#   benchmarks/setup_anchors.sh            # default versions (latest)
#   NBGRADER=0.9.6 OTTER=7.0.0 benchmarks/setup_anchors.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-anchors"
python="${PYTHON:-python3}"
# the three-question notebook needs numpy and scikit-learn: the same versions as the grader's .venv
versions="$("$here/../.venv/bin/python" -c "import numpy, sklearn; print(f\"numpy=={numpy.__version__} scikit-learn=={sklearn.__version__}\")" 2>/dev/null || echo "numpy scikit-learn")"
specs=("nbgrader${NBGRADER:+==$NBGRADER}" "otter-grader${OTTER:+==$OTTER}" "ipykernel" $versions)
if command -v uv >/dev/null 2>&1; then
    [ -x "$venv/bin/python" ] || uv venv --python "$python" "$venv"
    uv pip install --python "$venv/bin/python" --compile-bytecode "${specs[@]}"
else
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet "${specs[@]}"
fi
"$venv/bin/python" -m ipykernel install --prefix "$venv" --name python3 >/dev/null
"$venv/bin/nbgrader" --version
"$venv/bin/otter" --version

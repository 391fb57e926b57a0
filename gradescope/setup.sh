#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu).
# It installs Python, bubblewrap (the sandbox for the students' code), a virtual environment
# in /autograder/venv and the grader kit from /autograder/source, with torch pinned by
# constraints.txt (the CPU build).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q python3 python3-venv python3-pip
# Without bubblewrap grading still works, with resource limits only; whether the sandbox could
# start in the image is the `sandbox:` line of every result's output (and its extra_data.notes).
apt-get install -y -q bubblewrap || echo "setup.sh: bubblewrap not installed; students' code runs unsandboxed" >&2
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --quiet --upgrade pip
# The CPU wheels of torch live on PyTorch's own index; PyPI's default build pulls CUDA (GBs).
"$ROOT/venv/bin/python" -m pip install --quiet \
    --extra-index-url https://download.pytorch.org/whl/cpu \
    -c "$ROOT/source/constraints.txt" -e "$ROOT/source"

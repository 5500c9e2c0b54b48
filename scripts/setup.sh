#!/usr/bin/env bash
# Create .venv and install the project into it, once per change of pyproject.toml.
# Used by ./chat.sh and ./test.sh, so a fresh clone needs nothing done by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "rag needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 1
}

stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ -f "$stamp" ]; then
    exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
echo "Installing rag and its dependencies into .venv (a few minutes the first time) ..." >&2
start=$SECONDS
# torch is pinned in pyproject.toml (the CPU build); it is installed first so that no
# other package's looser requirement can pull a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
# The ONNX export of the model (cached per user) lets the chat start without torch.
.venv/bin/python -c 'from rag.embed import load_onnx; assert load_onnx(), "no ONNX export"'
rm -f .venv/.installed-*
touch "$stamp"
echo "Installed in $((SECONDS - start)) s." >&2

#!/usr/bin/env bash
# Create .venv and install the project into it, once per change of pyproject.toml.
# Used by ./chat.sh (the app: the core and its `serve` extra) and ./test.sh
# (`scripts/setup.sh test`: every extra and the test tools), so a fresh clone needs
# nothing done by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=${1:-}
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "rag needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 1
}

scripts/setup-ocr.sh  # Tesseract, from Debian's packages (scanned pages)

version=$(sha256sum pyproject.toml | cut -c1-16)
stamp=".venv/.installed-${extras:-app}-$version"
# The test install holds everything the app needs.
if [ -f "$stamp" ] || [ -f ".venv/.installed-test-$version" ]; then
    exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
echo "Installing rag${extras:+ with its $extras tools} into .venv (a few minutes the first time) ..." >&2
start=$SECONDS
# torch is pinned in pyproject.toml (the CPU build); it is installed first so that no
# other package's looser requirement can pull a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
if [ -n "$extras" ]; then
    # llama-cpp-python is an sdist: llama.cpp compiles once (~10 min on 2 cores), for any
    # x86-64 CPU, and pip keeps the built wheel in its cache for the next install.
    echo "(the first time, this compiles llama.cpp for the generative tests: ~10 min)" >&2
    CMAKE_ARGS=${CMAKE_ARGS:--DGGML_NATIVE=OFF} .venv/bin/python -m pip install --quiet -e ".[$extras]"
else
    # the web chat and the HTTP API (gradio, fastapi, ...): the core alone is `pip install -e .`
    .venv/bin/python -m pip install --quiet -e ".[serve]"
fi
# The ONNX exports of the models (cached per user) let the chat start without torch.
.venv/bin/python -c 'from rag.index.embed import load_onnx; assert load_onnx(), "no ONNX export"'
.venv/bin/python -c 'from rag.reading.crossencoder import CrossEncoder as C; assert C.load().runtime == "onnx"'
rm -f ".venv/.installed-${extras:-app}-"*
touch "$stamp"
echo "Installed in $((SECONDS - start)) s." >&2

#!/usr/bin/env bash
# Install what is needed (first run only), index corpus/ and open the web chat on
# http://127.0.0.1:7860 (RAG_HOST / RAG_PORT change that).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python app.py "$@"

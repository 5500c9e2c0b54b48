#!/usr/bin/env bash
# Install what is needed (first run only), then run the linter and the whole test suite,
# slow end-to-end tests included. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test
scripts/setup-browser.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"

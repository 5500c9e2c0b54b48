#!/bin/bash
# usage: evals.sh ROOT MODULE  -> runs the four evals from ROOT with python -m MODULE
cd "$1"
for args in "" "--dataset check" "--dataset squad --limit 500" "--dataset halueval --limit 500"; do
  echo "== eval $args  $(date +%T)"
  /work/main/.venv/bin/python -m $2 eval $args 2>&1 | grep -v '^Asking\|it/s\|q/s' | tail -25
done
echo "== done $(date +%T)"

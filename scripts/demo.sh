#!/usr/bin/env bash
# README command 1: set up (idempotent) and run the demo at http://127.0.0.1:8050
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python run.py "$@"

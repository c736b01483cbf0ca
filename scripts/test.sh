#!/usr/bin/env bash
# README command 2: set up (idempotent, with Chromium) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
# Two worker processes, each with its own Redis and PostgreSQL; a module's tests stay in one
# worker (its module-scoped demo, browser and servers are started once). Much of the suite waits
# in real time (a parking dwell, a clip played over RTSP), so two workers overlap those waits:
# about 15 minutes instead of 23 on 2 cores. TEST_WORKERS=0 runs it in one process.
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile "$@"

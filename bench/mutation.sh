#!/usr/bin/env bash
# Mutation score of the modules whose logic the suite must pin down: run mutmut over a scratch
# copy of the tree (mutmut writes its mutants/ beside the code) and print, per module, how many
# mutants the tests killed and how many survived. Needs `.venv/bin/pip install mutmut` once.
# Usage: bash bench/mutation.sh   (about 6 minutes on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$root" ls-files | (cd "$root" && tar cf - -T -) | (cd "$work" && tar xf -)
ln -s "$root/.venv" "$work/.venv"
[ -e "$work/../shared" ] || ln -s "$root/../shared" "$work/../shared" 2>/dev/null || true
cat > "$work/setup.cfg" <<'CFG'
[mutmut]
paths_to_mutate=dispatch/lifecycle.py
    dispatch/states.py
    vision/rules.py
    streams/bus.py
tests_dir=tests/test_lifecycle.py
    tests/test_vision_rules.py
    tests/test_bus.py
pytest_add_cli_args=-p no:cacheprovider -k "not postgresql" -x -q
also_copy=config
    geo
    sim
    stack
    cockpit
    vision
    dispatch
    streams
    tests
    run.py
CFG
cd "$work"
.venv/bin/mutmut run >/dev/null 2>&1 || true
.venv/bin/mutmut results --all true 2>/dev/null | awk -F': ' '
  { split($1, p, "."); module = p[1] "." p[2]; n[module]++; s[module, $2]++ }
  END {
    printf "%-20s %8s %8s %8s %8s %10s\n", "module", "mutants", "killed", "survived", "other", "survived%"
    for (m in n) {
      other = n[m] - s[m, "killed"] - s[m, "survived"]
      printf "%-20s %8d %8d %8d %8d %9.1f%%\n", m, n[m], s[m, "killed"], s[m, "survived"], other,
        100 * s[m, "survived"] / n[m]
    }
  }'

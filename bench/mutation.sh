#!/usr/bin/env bash
# Mutation score of the modules whose logic the suite must pin down: run mutmut over a scratch
# copy of the tree (mutmut writes its mutants/ beside the code) and print, per module, how many
# mutants the tests killed and how many survived. Needs `.venv/bin/pip install "mutmut==3.*"`.
# Usage: bash bench/mutation.sh [core|rules|bus|dispatch-core|dispatch] [minutes]
# ONLY="a.py b.py" mutates only those modules of the profile; KEEP=1 keeps the scratch copy.
#   core      the ticket lifecycle and states, the zone rules and the bus, judged by their own
#             fast tests (about 6 minutes on 2 cores)
#   rules     vision/rules.py alone (about a minute); bus: streams/bus.py alone
#   dispatch-core  the dispatch modules that tests call in the test process (routing, the work
#             calendar, the desk's queries, trends, indicators, retention), which mutmut can
#             attribute
#   dispatch  every module of dispatch/ (not its migrations), judged by the SQLite variants of
#             the dispatch tests; with `minutes`, stops after that long and counts what it
#             checked (mutants not reached by then are "not checked")
set -euo pipefail
profile="${1:-core}"
minutes="${2:-0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
# KEEP=1 keeps the scratch copy (its path is printed) to read survivors with `mutmut show NAME`.
if [ "${KEEP:-0}" = 1 ]; then echo "scratch copy: $work"; else trap 'rm -rf "$work"' EXIT; fi
git -C "$root" ls-files | (cd "$root" && tar cf - -T -) | (cd "$work" && tar xf -)
ln -s "$root/.venv" "$work/.venv"
# The tests find ../shared beside the project; mutmut runs them from $work/mutants.
ln -s "$(cd "$root/.." && pwd)/shared" "$work/shared"
# SQLite variants only; the OpenAPI document test compares the API's signatures, which the
# mutants' trampolines change.
select="not postgresql and not openapi_document"
case "$profile" in
  core)
    mutate="dispatch/lifecycle.py
    dispatch/states.py
    vision/rules.py
    streams/bus.py"
    tests="tests/test_lifecycle.py
    tests/test_vision_rules.py
    tests/test_vision_rules_pavement.py
    tests/test_bus.py
    tests/test_bus_wiring.py
    tests/test_bus_rounds.py"
    ;;
  rules)
    mutate="vision/rules.py"
    tests="tests/test_vision_rules.py
    tests/test_vision_rules_pavement.py"
    ;;
  bus)
    mutate="streams/bus.py"
    tests="tests/test_bus.py
    tests/test_bus_wiring.py
    tests/test_bus_rounds.py
    tests/test_outages.py"
    # of the outage tests, only the consumer's own (the others start whole services)
    select="$select and (not test_outages or consumer_waits)"
    ;;
  dispatch-core)
    mutate="dispatch/routing.py
    dispatch/calendar.py
    dispatch/desk_query.py
    dispatch/trends.py
    dispatch/indicators.py
    dispatch/retention.py"
    tests="tests/test_lifecycle.py
    tests/test_loop_edges.py
    tests/test_routing.py
    tests/test_desk_query.py
    tests/test_calendar.py
    tests/test_indicators.py
    tests/test_trends.py
    tests/test_trends_queries.py
    tests/test_desk.py
    tests/test_retention.py"
    ;;
  dispatch)
    mutate="$(cd "$work" && ls dispatch/*.py dispatch/api/*.py dispatch/reports/*.py | sed 's/^/    /')"
    tests="tests/test_lifecycle.py
    tests/test_desk.py
    tests/test_dispatcher.py
    tests/test_api.py
    tests/test_loop_edges.py
    tests/test_open311.py
    tests/test_incidents.py
    tests/test_trends.py
    tests/test_trends_drill.py
    tests/test_trends_reports.py
    tests/test_retention.py
    tests/test_live_state.py
    tests/test_accounts_cli.py"
    ;;
  *) echo "usage: bash bench/mutation.sh [core|rules|bus|dispatch-core|dispatch] [minutes]" >&2
     exit 2 ;;
esac
# ONLY="dispatch/routing.py ..." narrows a profile's modules (its tests stay the same).
if [ -n "${ONLY:-}" ]; then mutate="$(echo "$ONLY" | tr ' ' '\n' | sed 's/^/    /')"; fi
cat > "$work/setup.cfg" <<CFG
[mutmut]
paths_to_mutate=$mutate
tests_dir=$tests
pytest_add_cli_args=-p no:cacheprovider -p no:randomly -k "$select" -x -q
pytest_add_cli_args_test_selection=-k
    $select
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
if [ "$minutes" -gt 0 ]; then
  timeout --signal=INT "$((minutes * 60))" .venv/bin/mutmut run >"$root/.mutmut-run.log" 2>&1 || true
else
  .venv/bin/mutmut run >"$root/.mutmut-run.log" 2>&1 || true
fi
# killed: a test failed (or timed out); survived: the tests passed; no tests: no test reached the
# mutated code (counted as surviving); not checked: not reached before the time limit (left out).
.venv/bin/mutmut results --all true 2>/dev/null | awk -F': ' '
  { split($1, p, "."); module = p[1]
    for (i = 2; i < length(p); i++) { if (p[i] ~ /^x/) break; module = module "/" p[i] }
    n[module]++; st = $2
    if (st == "killed" || st == "timeout") k[module]++
    else if (st == "survived") s[module]++
    else if (st == "no tests") z[module]++
    else if (st == "not checked") u[module]++
    else o[module]++ }
  END {
    printf "%-30s %8s %8s %8s %8s %8s %10s\n", "module", "mutants", "killed", "survived", "no test",
      "unchecked", "survived%"
    for (m in n) {
      judged = k[m] + s[m] + z[m]
      printf "%-30s %8d %8d %8d %8d %8d %9.1f%%\n", m, n[m], k[m], s[m], z[m], u[m] + o[m],
        judged ? 100 * (s[m] + z[m]) / judged : 0
    }
  }' | sort

#!/usr/bin/env bash
# Run Go's own race-detector test suite (runtime/race) against racert's object
# and print Go's summary of it.
#
#   scripts/run_go_race_suite.sh [--go PATH_TO_GO] [--run REGEX]
#
#   --go PATH    the Go toolchain to test with (passed to racert as RACERT_GO);
#                default: racert's default, the machine's `go`
#   --run REGEX  only the top-level tests matching REGEX (go test -run)
#   --log-dir D  where to write the log (default: build/suite-logs)
#
# It runs `racert go test -race -count=1 -v runtime/race` with GOROOT naming
# racert's GOROOT view, so the test binary and every child `go` it starts
# (TestOutput, TestRace) use the view and its private GOCACHE. GOROOT must be
# set: Go 1.19 and 1.20's tests find their `go` through runtime.GOROOT(),
# which under plain `racert go` names the real tree (whose go would link the
# official object). The full log goes to <log-dir>/<GOVERSION>.log
# (e.g. build/suite-logs/go1.26.8.log); then the summary is printed:
# TestRace's "Passed N of M tests (P%, F+, F-)" and expected-failures lines,
# every mismatching TestRace case (FAILED, or FAILED+ for a false positive),
# every top-level --- PASS/FAIL/SKIP line, the final ok/FAIL line, and the
# elapsed time.
#
# The exit status is go test's. The script reports; it never hides a failure.
#
# Environment: RACERT_CLI overrides the racert executable (default: the
# checkout's ./racert); RACERT_OBJECT / RACERT_GO are passed through to it.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
racert=${RACERT_CLI:-$repo_root/racert}
run_regex=""
log_dir=$repo_root/build/suite-logs

while (($#)); do
  case $1 in
    --go)
      [[ $# -ge 2 ]] || { echo "error: --go needs a path" >&2; exit 2; }
      # Absolute, because the script changes directory before using it.
      RACERT_GO=$(command -v -- "$2" || true)
      [[ -n $RACERT_GO && -x $RACERT_GO ]] || { echo "error: not an executable go: $2" >&2; exit 2; }
      export RACERT_GO=$(realpath -- "$RACERT_GO")
      shift 2
      ;;
    --run)
      [[ $# -ge 2 ]] || { echo "error: --run needs a regex" >&2; exit 2; }
      run_regex=$2
      shift 2
      ;;
    --log-dir)
      [[ $# -ge 2 ]] || { echo "error: --log-dir needs a directory" >&2; exit 2; }
      log_dir=$2
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      echo "error: unknown argument: $1 (see --help)" >&2
      exit 2
      ;;
  esac
done

if [[ ! -x $racert ]]; then
  echo "error: racert CLI not found or not executable: $racert" >&2
  exit 2
fi

cd "$repo_root"
# The suite's child processes inherit this environment; the tests themselves
# drop GOMAXPROCS/GODEBUG/GORACE for their children, and a toolchain download
# in the middle of the run would test the wrong Go.
export GOTOOLCHAIN=local

GOROOT=$("$racert" goroot)
export GOROOT
go_version=$("$racert" go env GOVERSION)
mkdir -p "$log_dir"
log_dir=$(cd "$log_dir" && pwd)
log=$log_dir/$go_version.log

go_test_args=(test -race -count=1 -v)
[[ -n $run_regex ]] && go_test_args+=(-run "$run_regex")
go_test_args+=(runtime/race)

echo "== runtime/race suite: $go_version, object from $("$racert" version | sed -n 's/^object: //p')"
echo "== racert go ${go_test_args[*]}"
echo "== full log: $log (follow it with tail -f while the suite runs)"

start=$(date +%s.%N)
set +e
"$racert" go "${go_test_args[@]}" >"$log" 2>&1
status=$?
set -e
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

echo
echo "== TestRace cases that did not match (FAILED = missed race, FAILED+ = false positive):"
failed_cases=$(grep -E '^\S+ +FAILED\+?$' "$log" || true)
if [[ -n $failed_cases ]]; then
  echo "$failed_cases"
  echo "   ($(wc -l <<<"$failed_cases") cases)"
else
  echo "   (none)"
fi

echo
echo "== TestRace summary:"
grep -E '^Passed [0-9]+ of [0-9]+ tests|^[0-9]+ expected failures' "$log" || echo "   (no summary line: TestRace did not run or did not finish)"

fatal_count=$(grep -c 'fatal error:' "$log" || true)
if ((fatal_count > 0)); then
  echo
  echo "== 'fatal error:' lines in the log: $fatal_count; first ones:"
  grep -m 5 'fatal error:' "$log"
fi

echo
echo "== Top-level tests:"
grep -E '^--- (PASS|FAIL|SKIP): ' "$log" || echo "   (none reported)"

echo
echo "== Result:"
grep -E '^(ok|FAIL)([[:space:]]|$)' "$log" | tail -n 2 || true
echo "go test exit status: $status; elapsed: ${elapsed} s"
exit "$status"

#!/usr/bin/env bash
# THE test command for racert (CI runs it through .ci/run):
#
#   1. toolchain   scripts/ensure_toolchain.sh (installs what is missing)
#   2. syso        build_syso.sh           -> build/race_linux.syso, checked
#   3. syso-floor  build_syso.sh --floor   -> build/race_linux_floor.syso, checked
#   4. unit        CMake build + ctest (GoogleTest, tests/unit)
#   5. e2e         python3 -m pytest -q tests/e2e
#   6. go-matrix   scripts/go_matrix.py --ci: runtime/race (racert and official),
#                  tests/e2e/fixtures/programs in both link modes and an install round trip
#                  on real Go 1.19, 1.23 and 1.27 (the "ci" lines of
#                  scripts/go_releases.txt, fetched in stage 1); the full matrix
#                  of every release is `scripts/go_matrix.py`
#   7. debug       build_syso.sh --debug (every RACERT_DCHECK on), then Go's
#                  runtime/race suite and the e2e files that run racy and clean
#                  Go programs (programs, reports, report content, slot
#                  hand-overs, hidden pairs) with that object
#
# Stops at the first failing stage and says which one; the last line is a
# summary of the stages. Later stages rely on earlier ones (the e2e tests use
# the objects built in stages 2-3).
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

readonly CMAKE_BUILD_DIR="build/cmake"
readonly JOBS="$(nproc 2>/dev/null || echo 2)"

stages_passed=()
run_started=$SECONDS

# run_stage NAME COMMAND...: runs one stage; on failure prints the summary and exits.
run_stage() {
  local name="$1"
  shift
  local started=$SECONDS status=0
  echo "=== run_all_tests: stage '$name' ==="
  "$@" || status=$?
  local elapsed=$((SECONDS - started))
  if ((status != 0)); then
    echo "=== run_all_tests: stage '$name' FAILED (exit $status) after ${elapsed}s ===" >&2
    echo "run_all_tests: stages passed before the failure: ${stages_passed[*]:-(none)}" >&2
    echo "stages: ${#stages_passed[@]} passed, 1 failed"
    exit 1
  fi
  echo "=== run_all_tests: stage '$name' passed (${elapsed}s) ==="
  stages_passed+=("$name")
}

unit_tests() {
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  # Keep the generator of an existing build directory; switching would fail.
  [[ -f "$CMAKE_BUILD_DIR/CMakeCache.txt" ]] && generator=()
  cmake -S . -B "$CMAKE_BUILD_DIR" "${generator[@]}" >/dev/null
  cmake --build "$CMAKE_BUILD_DIR" --parallel "$JOBS"
  ctest --test-dir "$CMAKE_BUILD_DIR" --output-on-failure --parallel "$JOBS"
}

# Stage 7: the debug object through Go's own suite and the e2e files that run
# Go programs; the object is chosen with RACERT_OBJECT, which racert go reads.
debug_checks() {
  ./build_syso.sh --debug
  RACERT_OBJECT="$REPO_ROOT/build/race_linux_debug.syso" ./racert go test -race -count=1 runtime/race
  RACERT_OBJECT="$REPO_ROOT/build/race_linux_debug.syso" python3 -m pytest -q -p no:cacheprovider \
    tests/e2e/test_go_programs.py tests/e2e/test_race_reports.py tests/e2e/test_report_content.py \
    tests/e2e/test_slot_reuse.py tests/e2e/test_hidden_pair.py
}

run_stage toolchain ./scripts/ensure_toolchain.sh
run_stage syso ./build_syso.sh
run_stage syso-floor ./build_syso.sh --floor
run_stage unit unit_tests
run_stage e2e python3 -m pytest -q tests/e2e
run_stage go-matrix python3 scripts/go_matrix.py --ci
run_stage debug debug_checks

echo "run_all_tests: all stages passed in $((SECONDS - run_started))s: ${stages_passed[*]}"
echo "stages: ${#stages_passed[@]} passed, 0 failed"

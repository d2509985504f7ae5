"""End-to-end: Go's own race-detector test suite (runtime/race) with racert.

scripts/run_go_race_suite.sh runs ``racert go test -race -count=1 -v
runtime/race`` once per toolchain (session fixture); the tests below read its
log. They are split so a failure names what broke:

* behaviour tests that need no race reports (atomics on mmap memory, page
  boundaries, non-Go memory, timers, scheduling, compile-only issues) PASS;
* TestRace reports no false positives (the F+ count) and ran every case;
* TestRace matches every case (N == M) and TestOutput passes: these need the
  detection core and exact report text.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers_go as hg

TOOLCHAINS = hg.discover_toolchains()
SUITE_SCRIPT = hg.SCRIPTS_DIR / "run_go_race_suite.sh"
# Cold private GOCACHE: the suite's children compile race-instrumented std.
SUITE_TIMEOUT_S = 1800

# How many TestRace cases a release lists (passed + failed + SKIPPED) is the number
# of Test(No)?Race functions in its runtime/race/testdata, read from the toolchain's
# own tree (the child `go test` runs them file by file in name order), except where
# a case ends the child run early with the official object too
# (docs/go-race-abi-notes.md §1, the TestRace row): in Go 1.23 and 1.24,
# TestRaceRangeFuncIterator leaves a goroutine that panics ("range function
# continued iteration after loop body panic"), so the run lists the cases up to
# that one only (255 of 362). Go 1.25 skips both range-func iterator cases.
TESTRACE_RUN_ENDS_AFTER = {"go1.23": "TestRaceRangeFuncIterator", "go1.24": "TestRaceRangeFuncIterator"}

def count_testdata_cases(goroot: Path, through: str | None = None) -> int:
    """Race*/NoRace* test functions in a release's runtime/race/testdata, in the
    order they run; with `through`, only those up to and including that one."""
    pattern = re.compile(r"^func (Test(?:No)?Race\w*)\(", re.MULTILINE)
    files = sorted((goroot / "src/runtime/race/testdata").glob("*_test.go"))
    assert files, f"no runtime/race testdata under {goroot}"
    names = [name for f in files for name in pattern.findall(f.read_text())]
    if through is None:
        return len(names)
    assert through in names, f"{through} is not in {goroot}'s runtime/race testdata"
    return names.index(through) + 1


def toolchain_goroot(toolchain: hg.Toolchain) -> Path:
    out = subprocess.run([toolchain.go or "go", "env", "GOROOT"], env=toolchain.env(), capture_output=True,
                         text=True, timeout=60, check=True, cwd="/")
    return Path(out.stdout.strip())


BEHAVIOUR_TESTS = [
    "TestAtomicMmap",
    "TestAtomicPageBoundary",
    "TestNonGoMemory",
    "TestIssue8102",
    "TestIssue9137",
    "TestRandomScheduling",
    "TestTimers",
    "TestIssue37485",
]


@dataclass
class SuiteRun:
    toolchain: hg.Toolchain
    exit_status: int
    summary: str  # what the script printed
    log: str  # the full go test -v log

    def top_level_result(self, test: str) -> str | None:
        """PASS, FAIL or SKIP for a top-level test, None if it never finished."""
        match = re.search(rf"^--- (PASS|FAIL|SKIP): {re.escape(test)} \(", self.log, re.MULTILINE)
        return match.group(1) if match else None

    def testrace_totals(self) -> tuple[int, int, int, int] | None:
        """(passed, total, false positives, false negatives) from TestRace's summary."""
        match = re.search(
            r"^Passed (\d+) of (\d+) tests \([\d.]+%, (\d+)\+, (\d+)-\)$", self.log, re.MULTILINE
        )
        return tuple(int(g) for g in match.groups()) if match else None

    def testrace_case_lines(self, verdict: str) -> list[str]:
        """TestRace's per-case lines with the given verdict ('.', 'FAILED', 'FAILED+', 'SKIPPED')."""
        pattern = rf"^(\S+) +{re.escape(verdict)}$"
        return re.findall(pattern, self.log, re.MULTILINE)

    def describe(self) -> str:
        """The script's summary, without the per-case FAILED lines (tests list those themselves)."""
        summary = "\n".join(line for line in self.summary.splitlines() if not re.search(r" FAILED\+?$", line))
        return f"{self.toolchain.version}, go test exit status {self.exit_status}\n{summary}"


def first_names(names: list[str], limit: int = 40) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else f" ({len(names)})")


def run_suite(toolchain: hg.Toolchain, log_dir: Path) -> SuiteRun:
    hg.require_racert_cli()
    args = [str(SUITE_SCRIPT), "--log-dir", str(log_dir)]
    if toolchain.go is not None:
        args += ["--go", toolchain.go]
    proc = subprocess.run(
        args, cwd=hg.REPO_ROOT, env=toolchain.env(), capture_output=True, text=True, timeout=SUITE_TIMEOUT_S
    )
    log_line = re.search(r"^== full log: (\S+)", proc.stdout, re.MULTILINE)
    assert log_line, f"suite script printed no log path:\n{proc.stdout}\n{proc.stderr}"
    log_path = Path(log_line.group(1))
    log = log_path.read_text(errors="replace") if log_path.exists() else ""
    return SuiteRun(toolchain, proc.returncode, proc.stdout + proc.stderr, log)


@pytest.fixture(scope="session", params=TOOLCHAINS, ids=[t.id for t in TOOLCHAINS])
def suite(request, tmp_path_factory) -> SuiteRun:
    toolchain = request.param
    return run_suite(toolchain, tmp_path_factory.mktemp(f"suite-{toolchain.id}"))


@pytest.mark.parametrize("test", BEHAVIOUR_TESTS)
def test_behaviour_test_passes(suite, test):
    assert suite.top_level_result(test) == "PASS", f"{test} did not pass\n{suite.describe()}"


def test_testrace_has_no_false_positives(suite):
    totals = suite.testrace_totals()
    assert totals, f"TestRace printed no 'Passed N of M' summary\n{suite.describe()}"
    assert totals[2] == 0, (
        f"{totals[2]} false positives: {first_names(suite.testrace_case_lines('FAILED+'))}\n{suite.describe()}"
    )
    assert "fatal error:" not in suite.log.replace("fatal error: concurrent map", ""), (
        f"a Go runtime fatal error occurred during the suite\n{suite.describe()}"
    )


def test_testrace_ran_every_case(suite):
    """Every case the release lists was run and judged (a crash would cut the list short)."""
    release = re.match(r"go\d+\.\d+", suite.toolchain.version).group(0)
    expected = count_testdata_cases(toolchain_goroot(suite.toolchain), TESTRACE_RUN_ENDS_AFTER.get(release))
    totals = suite.testrace_totals()
    assert totals, f"TestRace printed no 'Passed N of M' summary\n{suite.describe()}"
    listed = totals[1] + len(suite.testrace_case_lines("SKIPPED"))
    assert listed == expected, f"TestRace listed {listed} cases, {release} has {expected}\n{suite.describe()}"


def test_testrace_passes_every_case(suite):
    """Needs the detection core: every Race case reported, no NoRace case reported."""
    totals = suite.testrace_totals()
    assert totals, f"TestRace printed no 'Passed N of M' summary\n{suite.describe()}"
    passed, total, false_pos, false_neg = totals
    assert passed == total, (
        f"TestRace passed {passed} of {total} ({false_pos}+, {false_neg}-); missed: "
        f"{first_names(suite.testrace_case_lines('FAILED'))}\n{suite.describe()}"
    )
    assert suite.top_level_result("TestRace") == "PASS", suite.describe()


def test_testoutput_passes(suite):
    """Needs exact Go-format reports, GORACE handling and exit codes."""
    assert suite.top_level_result("TestOutput") == "PASS", f"TestOutput failed\n{suite.describe()}"


def test_whole_suite_passes(suite):
    assert suite.exit_status == 0, suite.describe()

"""End-to-end: GORACE suppressions=FILE and print_suppressions, with the
official race object as the oracle.

tests/e2e/fixtures/reports/suppress is built twice per toolchain: with racert (``racert
go build -race``) and with the toolchain's own official object (plain ``go
build -race``). Each case writes a suppression file, runs both binaries with
the same GORACE and the same scenario, and requires the same outcome: exit
status, program output, the races reported (by their functions), the
"Found N data race(s)" line and the print_suppressions summary (hit counts,
entries, order; only the "ThreadSanitizer:"/"racert:" prefix and the pid
differ). Nothing about which race a pattern suppresses is written down here:
the official object decides.

For bad files both must stop the program before main with the same status;
racert's message must in addition name the file, the line and the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import helpers_go as hg
import helpers_reports as hr

PROGRAM = "suppress"
FAST = "atexit_sleep_ms=0"
_SUMMARY_RE = re.compile(r"^(?:ThreadSanitizer|racert): Matched (\d+) suppressions \(pid=(\d+)\):$")


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> hr.GoBuilds:
    return hr.session_builds(tmp_path_factory)


@pytest.fixture(scope="session", params=hr.toolchain_params())
def toolchain(request) -> hg.Toolchain:
    return request.param


@pytest.fixture
def binaries(builds, toolchain) -> dict[str, Path]:
    return {"official": builds.official_program(toolchain, PROGRAM), "racert": builds.program(toolchain, PROGRAM)}


class Outcome:
    """What a run shows of the suppressions: comparable between the runtimes."""

    def __init__(self, run: hr.ProgramRun, text: str | None = None):
        self.run = run
        output = run.stderr if text is None else text
        summary_at = None
        lines = output.splitlines()
        for index, line in enumerate(lines):
            match = _SUMMARY_RE.match(line)
            if match:
                assert int(match.group(2)) == run.pid, f"summary names another pid:\n{hr.describe(run)}"
                summary_at = index
                break
        self.summary = None
        if summary_at is not None:
            total = int(lines[summary_at].split()[2])
            entries = lines[summary_at + 1:]
            assert all(re.fullmatch(r"\d+ \S+:.*", entry) for entry in entries), f"summary lines:\n{output}"
            assert total == sum(int(entry.split()[0]) for entry in entries), f"summary total:\n{output}"
            self.summary = (total, entries)
            output = "".join(line + "\n" for line in lines[:summary_at])
        parsed = hr.parse_output(output)
        self.found = parsed.found
        self.races = sorted(
            tuple(sorted((tuple(report.current.functions), tuple(report.previous.functions))))
            for report in parsed.reports)
        self.other_lines = parsed.other_lines

    def comparable(self) -> dict:
        return {"status": self.run.returncode, "stdout": self.run.stdout, "races": self.races,
                "found": self.found, "summary": self.summary}


def run_both(binaries: dict[str, Path], gorace: str, scenario: str, **kwargs) -> dict[str, hr.ProgramRun]:
    return {who: hr.run_program(binary, gorace, args=[scenario], **kwargs) for who, binary in binaries.items()}


def describe_both(runs: dict[str, hr.ProgramRun]) -> str:
    return "\n".join(f"--- {who}: {hr.describe(run)}" for who, run in runs.items())


# (id, suppression file, scenario of tests/e2e/fixtures/reports/suppress)
ORACLE_CASES = [
    ("function", "race:main.writer\n", "main"),
    ("leading-star", "race:*writer\n", "main"),
    ("file-name", "race:reports/suppress/main.go\n", "main"),
    ("top-of-main-stack", "race_top:main.raceWithMain\n", "main"),
    ("top-of-goroutine-stack", "race_top:main.writer\n", "main"),
    ("top-is-only-the-top", "race_top:main.main\n", "main"),
    ("other-package", "race:fmt\n", "main"),
    ("empty-pattern", "race:\n", "both"),
    ("empty-top-pattern", "race_top:\n", "main"),
    ("caret", "race:^main.writer\n", "main"),
    ("caret-not-at-start", "race:^writer\n", "main"),
    ("dollar", "race:writer$\n", "main"),
    ("dollar-not-at-end", "race:main.wr$\n", "main"),
    ("star-dollar", "race:writ*$\n", "main"),
    ("dollar-first-occurrence-only", "race:r$\n", "main"),
    ("star-then-dollar-first-occurrence", "race:*r$\n", "main"),
    ("comments-blanks-spaces-crlf", "# a comment\n\n   \n \t race:main.writer \t\r\n", "main"),
    ("hash-inside-pattern", "race:main.writer # not a comment\n", "main"),
    ("types-that-never-match", "mutex:main.writer\nthread:main\nsignal:main\ncalled_from_lib:x\ndeadlock:main\n",
     "main"),
    ("creation-stacks-are-not-matched", "race:main.main\n", "goroutines"),
    ("main-main-in-access-stack", "race:main.main\n", "main"),
    ("one-of-two-races", "race:main.left\n", "both"),
    ("two-entries-two-races", "race:main.writer\nrace:main.right\n", "both"),
    ("summary-in-file-order", "race:main.right\nrace:main.writer\n", "both"),
    ("one-entry-two-races", "race:main\n", "both"),
    ("first-entry-wins", "race:main.writer\nrace:main.writer\n", "main"),
    ("race-before-race-top", "race_top:main.writer\nrace:main.raceWithMain\n", "main"),
    ("library-function", "race:sort.IntsAreSorted\n", "library"),
    ("library-file", "race:src/sort/\n", "library"),
    ("last-line-without-newline", "race:main.writer", "main"),
    ("empty-file", "", "main"),
]


@pytest.mark.parametrize("text, scenario", [c[1:] for c in ORACLE_CASES], ids=[c[0] for c in ORACLE_CASES])
def test_suppression_matches_the_official_runtime(binaries, tmp_path, text, scenario):
    suppressions = tmp_path / "race.supp"
    suppressions.write_text(text)
    runs = run_both(binaries, f"{FAST} suppressions={suppressions} print_suppressions=1", scenario)
    outcomes = {who: Outcome(run) for who, run in runs.items()}
    assert outcomes["racert"].comparable() == outcomes["official"].comparable(), describe_both(runs)
    assert outcomes["racert"].other_lines == [], describe_both(runs)
    # The case must show something: either a race survives or a suppression matched.
    assert outcomes["racert"].races or outcomes["racert"].summary, describe_both(runs)


def test_suppressed_races_leave_the_exit_status_alone(binaries, tmp_path):
    """Without print_suppressions: nothing at all on stderr, exit 0, for both."""
    suppressions = tmp_path / "race.supp"
    suppressions.write_text("race:main.writer\nrace:main.left\n")
    runs = run_both(binaries, f"{FAST} suppressions={suppressions}", "both")
    for who, run in runs.items():
        assert run.returncode == 0 and run.stderr == "", f"{who}:\n{hr.describe(run)}"
        assert run.stdout == "suppress: done\n", f"{who}:\n{hr.describe(run)}"


def test_unsuppressed_race_still_counts_next_to_a_suppressed_one(binaries, tmp_path):
    suppressions = tmp_path / "race.supp"
    suppressions.write_text("race:main.left\n")
    runs = run_both(binaries, f"{FAST} suppressions={suppressions} exitcode=21", "both")
    for who, run in runs.items():
        parsed = hr.parse_output(run.stderr)
        assert run.returncode == 21 and parsed.found == [1] and len(parsed.reports) == 1, f"{who}:\n{hr.describe(run)}"


BAD_FILES = [
    # (id, file text, the 1-based line racert must name, a word of the reason)
    ("unknown-type", "race:main.writer\n\nfoo:bar\n", 3, "unknown suppression type 'foo'"),
    ("no-colon", "race main.writer\n", 1, "TYPE:PATTERN"),
    ("upper-case-type", "# ok\nRACE:main.writer\n", 2, "unknown suppression type 'RACE'"),
    ("space-before-colon", "race :main.writer\n", 1, "unknown suppression type 'race '"),
    ("type-of-another-sanitizer", "interceptor_via_fun:x\n", 1, "unknown suppression type 'interceptor_via_fun'"),
]


@pytest.mark.parametrize("text, line, reason", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_suppression_file_stops_the_program(binaries, tmp_path, text, line, reason):
    suppressions = tmp_path / "bad.supp"
    suppressions.write_text(text)
    for extra, status in (("", 66), ("exitcode=3", 3)):
        runs = run_both(binaries, f"{FAST} {extra} suppressions={suppressions}", "main")
        for who, run in runs.items():
            assert run.returncode == status and run.stdout == "", f"{who}:\n{hr.describe(run)}"
        assert "failed to parse suppressions" in runs["official"].stderr, describe_both(runs)
        message = runs["racert"].stderr
        assert message.count("\n") == 1 and message.startswith("racert: error: "), message
        assert str(suppressions) in message and f"line {line} " in message and reason in message, message


def test_bad_suppression_file_with_abort_on_error_aborts(binaries, tmp_path):
    suppressions = tmp_path / "bad.supp"
    suppressions.write_text("nonsense\n")
    runs = run_both(binaries, f"{FAST} abort_on_error=1 suppressions={suppressions}", "main")
    for who, run in runs.items():
        assert run.returncode == -signal.SIGABRT and run.stdout == "", f"{who}:\n{hr.describe(run)}"


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_suppression_file_stops_the_program(binaries, tmp_path, kind):
    path = tmp_path / "nonexistent.supp" if kind == "missing" else tmp_path
    runs = run_both(binaries, f"{FAST} suppressions={path}", "main")
    for who, run in runs.items():
        assert run.returncode == 66 and run.stdout == "", f"{who}:\n{hr.describe(run)}"
    assert f"failed to read suppressions file '{path}'" in runs["official"].stderr, describe_both(runs)
    message = runs["racert"].stderr
    assert message.count("\n") == 1 and str(path) in message, message
    assert ("no such file or directory" if kind == "missing" else "is a directory") in message, message


def test_errors_go_where_reports_go(binaries, tmp_path):
    """With log_path, the official runtime writes its suppression errors to the log file."""
    suppressions = tmp_path / "bad.supp"
    suppressions.write_text("bogus\n")
    for who, binary in binaries.items():
        log = tmp_path / who / "log"
        run = hr.run_program(binary, f"{FAST} log_path={log} suppressions={suppressions}", args=["main"])
        assert run.returncode == 66 and run.stderr == "", f"{who}:\n{hr.describe(run)}"
        written = Path(f"{log}.{run.pid}").read_text()
        assert ("suppressions" in written) and ("bogus" in written or who == "official"), written


def test_relative_name_is_found_in_the_working_directory_then_next_to_the_executable(binaries, tmp_path):
    for who, binary in binaries.items():
        home = tmp_path / who / "bin"
        home.mkdir(parents=True)
        copy = home / "suppress"
        shutil.copy2(binary, copy)
        (home / "next-to-binary.supp").write_text("race:main.writer\n")
        elsewhere = tmp_path / who / "cwd"
        elsewhere.mkdir()
        (elsewhere / "in-cwd.supp").write_text("race:main.writer\n")
        for name in ("next-to-binary.supp", "in-cwd.supp"):
            run = hr.run_program(copy, f"{FAST} suppressions={name}", args=["main"], cwd=elsewhere)
            assert run.returncode == 0 and run.stderr == "", f"{who} {name}:\n{hr.describe(run)}"
        run = hr.run_program(copy, f"{FAST} suppressions=nowhere.supp", args=["main"], cwd=elsewhere)
        assert run.returncode == 66 and run.stdout == "", f"{who}:\n{hr.describe(run)}"
        if who == "racert":
            assert "nowhere.supp" in run.stderr and str(home / "nowhere.supp") in run.stderr, run.stderr


def test_empty_suppressions_value_is_no_file(binaries):
    runs = run_both(binaries, f"{FAST} suppressions=", "main")
    for who, run in runs.items():
        assert run.returncode == 66 and hr.parse_output(run.stderr).found == [1], f"{who}:\n{hr.describe(run)}"


def test_halt_on_error_prints_no_summary(binaries, tmp_path):
    suppressions = tmp_path / "race.supp"
    suppressions.write_text("race:main.left\n")
    runs = run_both(binaries, f"{FAST} halt_on_error=1 print_suppressions=1 suppressions={suppressions}", "both")
    outcomes = {who: Outcome(run) for who, run in runs.items()}
    assert outcomes["racert"].comparable() == outcomes["official"].comparable(), describe_both(runs)
    assert outcomes["racert"].summary is None and len(outcomes["racert"].races) == 1


# ---- go test: a suppressed race does not fail the test ------------------------------------------------


def _official_test_binary(toolchain: hg.Toolchain, output: Path) -> Path:
    goroot = hr.real_goroot(toolchain)
    if not hr.goroot_has_official_object(goroot):
        pytest.skip(f"{goroot} does not hold Go's official race object")
    source = hr.program_source("gotest")
    completed = subprocess.run(
        [toolchain.go or "go", "test", "-race", "-c", "-o", str(output), str(source)],
        cwd=str(hg.REPO_ROOT), env=hr.clean_env(None, {"GOTOOLCHAIN": "local"}),
        capture_output=True, text=True, timeout=hg.BUILD_TIMEOUT_S)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return output


def test_suppressed_race_passes_go_test(builds, toolchain, tmp_path):
    binaries = {"racert": builds.test_binary(toolchain, "gotest"),
                "official": _official_test_binary(toolchain, tmp_path / "official.test")}
    suppressions = tmp_path / "race.supp"
    suppressions.write_text("race:.TestRacy\n")
    for who, binary in binaries.items():
        plain = hr.run_program(binary, FAST, args=["-test.v"])
        assert plain.returncode == 1 and "race detected during execution of test" in plain.stdout, \
            f"{who}:\n{hr.describe(plain)}"
        run = hr.run_program(binary, f"{FAST} suppressions={suppressions} print_suppressions=1", args=["-test.v"])
        assert run.returncode == 0, f"{who}:\n{hr.describe(run)}"
        assert "--- PASS: TestRacy" in run.stdout and "--- PASS: TestPasses" in run.stdout, hr.describe(run)
        assert "DATA RACE" not in run.stdout + run.stderr, hr.describe(run)
        assert re.search(r"^\d+ race:\.TestRacy$", run.stderr, re.M), hr.describe(run)

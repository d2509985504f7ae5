"""End-to-end: every GORACE option of the README table, through real Go programs.

Programs (tests/e2e/fixtures/reports, built once per session and toolchain):
  simple     one race, then prints "simple: after the race" (ordered after
             both racing stores), exit 66 by default
  background no race; leaves a goroutine blocked and returns from main
  repeated   16 races between the same two stacks
  atomic_plain  an atomic-vs-plain race and a plain-vs-plain race
  lost_history  a race whose earlier access is N history events old

Every run gets a scrubbed environment and ``GORACE=atexit_sleep_ms=0 <option>``
unless the test is about atexit_sleep_ms or the defaults. The expectations
come from README.md ("GORACE options") and docs/go-race-abi-notes.md §13.2; where racert and
the official runtime would differ, the official behaviour is stated.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

import helpers_go as hg
import helpers_reports as hr

FAST = "atexit_sleep_ms=0"


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> hr.GoBuilds:
    return hr.session_builds(tmp_path_factory)


@pytest.fixture(scope="session", params=hr.toolchain_params())
def toolchain(request) -> hg.Toolchain:
    return request.param


@pytest.fixture
def simple(builds, toolchain) -> Path:
    return builds.program(toolchain, "simple")


@pytest.fixture
def background(builds, toolchain) -> Path:
    return builds.program(toolchain, "background")


def assert_simple_race_reported(run: hr.ProgramRun, output: str, *, completed: bool = True) -> hr.ParsedOutput:
    """`output` holds exactly the simple program's one race report (+ Found line if completed)."""
    parsed = hr.parse_output(output)
    assert len(parsed.reports) == 1, f"want 1 report:\n{hr.describe(run)}"
    assert parsed.reports[0].stack_pair == hr.simple_stacks(hr.program_source("simple"), run.go_version), parsed.reports[0].text
    assert parsed.found == ([1] if completed else []), hr.describe(run)
    return parsed


# ---- exitcode -------------------------------------------------------------------


def test_default_exit_status_is_66(simple):
    run = hr.run_program(simple, FAST)
    assert run.returncode == 66, hr.describe(run)
    assert_simple_race_reported(run, run.stderr)
    assert "simple: after the race" in run.stdout


@pytest.mark.parametrize("code", [13, 0, 1])
def test_exitcode_sets_exit_status(simple, code):
    run = hr.run_program(simple, f"{FAST} exitcode={code}")
    assert run.returncode == code, hr.describe(run)
    assert_simple_race_reported(run, run.stderr)


def test_exitcode_not_used_without_races(background):
    run = hr.run_program(background, f"{FAST} exitcode=13")
    assert run.returncode == 0, hr.describe(run)
    assert run.stderr == "", hr.describe(run)


def test_exitcode_last_occurrence_wins(simple):
    run = hr.run_program(simple, f"{FAST} exitcode=13 exitcode=14")
    assert run.returncode == 14, hr.describe(run)


# ---- halt_on_error --------------------------------------------------------------


def test_halt_on_error_exits_right_after_the_first_report(simple):
    run = hr.run_program(simple, f"{FAST} halt_on_error=1")
    assert run.returncode == 66, hr.describe(run)
    assert_simple_race_reported(run, run.stderr, completed=False)
    # The report's closing separator is the last thing printed: no Found line.
    assert run.stderr.endswith(hr.SEPARATOR + "\n"), hr.describe(run)
    assert "Found" not in run.stderr
    # The program stopped inside the racing store: its next print never ran.
    assert run.stdout == "simple: start\n", hr.describe(run)


def test_halt_on_error_uses_exitcode(simple):
    run = hr.run_program(simple, f"{FAST} halt_on_error=1 exitcode=13")
    assert run.returncode == 13, hr.describe(run)
    assert "simple: after the race" not in run.stdout, hr.describe(run)


def test_halt_on_error_skips_the_atexit_sleep(simple):
    run = hr.run_program(simple, "halt_on_error=1")  # default atexit_sleep_ms=1000
    assert run.returncode == 66, hr.describe(run)
    assert run.elapsed_s < 0.8, f"halt_on_error took {run.elapsed_s:.3f} s: it must not sleep at exit"


def test_halt_on_error_prints_one_report_under_concurrency(builds, toolchain):
    # Many goroutines race at once; the first report wins, the others never print.
    run = hr.run_program(
        builds.program(toolchain, "concurrent"),
        f"{FAST} halt_on_error=1 suppress_equal_stacks=0",
        env_extra={"GOMAXPROCS": "4"},
    )
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 1 and parsed.found == [] and parsed.other_lines == [], hr.describe(run)
    assert run.stdout == "", "the program must not have finished"


def test_halt_on_error_0_continues(simple):
    run = hr.run_program(simple, f"{FAST} halt_on_error=0")
    assert run.returncode == 66, hr.describe(run)
    assert run.stdout.endswith("simple: after the race\n"), hr.describe(run)
    assert_simple_race_reported(run, run.stderr)


# ---- atexit_sleep_ms --------------------------------------------------------------
# Loose bounds: the point is "about a second" against "no sleep", not precision.


def test_atexit_sleep_default_is_one_second(background):
    run = hr.run_program(background, None)
    assert run.returncode == 0, hr.describe(run)
    assert run.stdout == "background: main done\n"
    assert run.elapsed_s >= 0.95, f"exited after {run.elapsed_s:.3f} s; the default sleep is 1000 ms"


def test_atexit_sleep_0_exits_at_once(background):
    run = hr.run_program(background, "atexit_sleep_ms=0")
    assert run.returncode == 0, hr.describe(run)
    assert run.elapsed_s < 0.6, f"exited after {run.elapsed_s:.3f} s with atexit_sleep_ms=0"


def test_atexit_sleep_custom_value(background):
    run = hr.run_program(background, "atexit_sleep_ms=300")
    assert run.returncode == 0, hr.describe(run)
    assert 0.29 <= run.elapsed_s < 0.95, f"exited after {run.elapsed_s:.3f} s with atexit_sleep_ms=300"


# ---- strip_path_prefix ------------------------------------------------------------

SIMPLE_FILE = str(hr.program_source("simple"))


def official_strip(path: str, prefix: str) -> str:
    """ABI notes §13.2: drop through the first occurrence of prefix, then a leading './'."""
    at = path.find(prefix)
    if not prefix or at < 0:
        return path
    rest = path[at + len(prefix) :]
    return rest[2:] if rest.startswith("./") else rest


def report_files(parsed: hr.ParsedOutput) -> set[str]:
    files = set()
    for report in parsed.reports:
        for frames in [report.current.frames, report.previous.frames, *(g.created_at for g in report.goroutines)]:
            files.update(f.file for f in frames or [])
    return files


def assert_simple_race_reported_stripped(run: hr.ProgramRun) -> hr.ParsedOutput:
    """One report (file names stripped, so only its count is checked here)."""
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(run)
    return parsed


@pytest.mark.parametrize(
    "option, expected_file",
    [
        # Go's TestOutput case: a substring in the middle of the file name.
        ("strip_path_prefix=/main.", "go"),
        ('strip_path_prefix="/main."', "go"),
        (f"strip_path_prefix={hg.REPO_ROOT}/", "tests/e2e/fixtures/reports/simple/main.go"),
        (f"strip_path_prefix='{hg.REPO_ROOT}/tests/e2e/fixtures'", "/reports/simple/main.go"),
        ("strip_path_prefix=reports/", "simple/main.go"),
        ("strip_path_prefix=/no/such/prefix/", SIMPLE_FILE),
    ],
    ids=["substring", "double-quoted", "repo-root", "single-quoted", "middle", "no-match"],
)
def test_strip_path_prefix(simple, option, expected_file):
    prefix = option.split("=", 1)[1].strip("'\"")
    if prefix == "reports/" and "reports/" in str(hg.REPO_ROOT):
        pytest.skip("the checkout path itself contains 'reports/'")
    assert official_strip(SIMPLE_FILE, prefix) == expected_file  # the table agrees with the rule
    run = hr.run_program(simple, f"{FAST} {option}")
    parsed = assert_simple_race_reported_stripped(run)
    assert report_files(parsed) == {expected_file}, parsed.reports[0].text


def test_strip_path_prefix_drops_leading_dot_slash(builds, toolchain):
    # The program is copied into a directory whose name ends in '.', so a
    # prefix ending just before that '.' leaves "./main.go", and the official
    # rule then drops the "./".
    binary, source = builds.copy_and_build(toolchain, "simple", "dotted", "src.")
    prefix = str(source.parent)[: -len(".")]
    assert official_strip(str(source), prefix) == "main.go"
    run = hr.run_program(binary, f"{FAST} strip_path_prefix={prefix}")
    parsed = assert_simple_race_reported_stripped(run)
    assert report_files(parsed) == {"main.go"}, parsed.reports[0].text


def test_strip_path_prefix_leaves_runtime_frames_alone(builds, toolchain):
    # atomic_plain's atomic side has frames in GOROOT (race_amd64.s); a prefix
    # of the program's directory must only shorten the program's own file.
    binary = builds.program(toolchain, "atomic_plain")
    source = hr.program_source("atomic_plain")
    run = hr.run_program(binary, f"{FAST} strip_path_prefix={source.parent}/")
    parsed = hr.parse_output(run.stderr)
    files = report_files(parsed)
    assert "main.go" in files, hr.describe(run)
    assert str(source) not in files
    goroot_files = {f for f in files if f.endswith("race_amd64.s")}
    assert goroot_files and all(f.startswith("/") for f in goroot_files), files


# ---- log_path ---------------------------------------------------------------------


def test_log_path_writes_pid_file_in_new_directories(simple, tmp_path):
    base = tmp_path / "missing" / "parents" / "race-log"
    run = hr.run_program(simple, f"{FAST} log_path={base}")
    assert run.returncode == 66, hr.describe(run)
    assert run.stderr == "", f"log_path must leave stderr empty:\n{hr.describe(run)}"
    assert run.stdout == "simple: start\nsimple: after the race\n"
    log = base.parent / f"race-log.{run.pid}"
    assert sorted(p.name for p in base.parent.iterdir()) == [log.name]
    assert stat.S_IMODE(log.stat().st_mode) == 0o640, oct(log.stat().st_mode)
    # The whole report and the Found line, nothing else.
    parsed = assert_simple_race_reported(run, log.read_text())
    assert parsed.other_lines == [], log.read_text()


def test_log_path_relative_to_working_directory(simple, tmp_path):
    run = hr.run_program(simple, f"{FAST} log_path=logs/race", cwd=tmp_path)
    assert run.returncode == 66 and run.stderr == "", hr.describe(run)
    assert_simple_race_reported(run, (tmp_path / "logs" / f"race.{run.pid}").read_text())


def test_log_path_value_may_contain_equals(simple, tmp_path):
    base = tmp_path / "a=b" / "race"
    run = hr.run_program(simple, f"{FAST} log_path={base}")
    assert run.returncode == 66 and run.stderr == "", hr.describe(run)
    assert_simple_race_reported(run, Path(f"{base}.{run.pid}").read_text())


def test_log_path_stdout(simple):
    run = hr.run_program(simple, f"{FAST} log_path=stdout")
    assert run.returncode == 66, hr.describe(run)
    assert run.stderr == "", hr.describe(run)
    parsed = assert_simple_race_reported(run, run.stdout)
    assert parsed.other_lines == ["simple: start", "simple: after the race"]


def test_log_path_stderr(simple, tmp_path):
    run = hr.run_program(simple, f"{FAST} log_path=stderr", cwd=tmp_path)
    assert run.returncode == 66, hr.describe(run)
    assert run.stdout == "simple: start\nsimple: after the race\n"
    parsed = assert_simple_race_reported(run, run.stderr)
    assert parsed.other_lines == []
    assert list(tmp_path.iterdir()) == [], "'stderr' is special, not a file name"


def _file_in_place_of_directory(tmp_path: Path) -> str:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file where log_path needs a directory\n")
    return str(blocker / "sub" / "race-log")


@pytest.mark.parametrize(
    "make_path",
    [_file_in_place_of_directory, lambda tmp_path: "/proc/racert-no-such-directory/race-log"],
    ids=["file-as-directory", "proc"],
)
def test_log_path_unwritable_warns_once_and_reports_on_stderr(simple, tmp_path, make_path):
    path = make_path(tmp_path)
    run = hr.run_program(simple, f"{FAST} log_path={path}")
    assert run.returncode == 66, hr.describe(run)
    parsed = assert_simple_race_reported(run, run.stderr)
    assert len(parsed.other_lines) == 1, f"want exactly one warning line:\n{hr.describe(run)}"
    warning = parsed.other_lines[0]
    assert "warning" in warning.lower() and "log_path" in warning and path in warning, warning
    # The warning comes before anything else (it is printed at startup).
    assert run.stderr.startswith(warning + "\n"), hr.describe(run)
    assert not Path(f"{path}.{run.pid}").exists()


# ---- history_size -----------------------------------------------------------------


@pytest.mark.parametrize("size", range(8))
def test_history_size_values_are_accepted(simple, size):
    run = hr.run_program(simple, f"{FAST} history_size={size}")
    assert run.returncode == 66, hr.describe(run)
    parsed = assert_simple_race_reported(run, run.stderr)
    assert parsed.other_lines == [], f"history_size={size} must be accepted silently:\n{hr.describe(run)}"
    assert parsed.reports[0].previous.frames, "the previous stack must be restored"


@pytest.mark.parametrize("size", [8, -1])
def test_history_size_out_of_range_stops_at_start(background, size):
    # The official runtime dies at startup ("incorrect value for history_size
    # (must be [0..7])", exit 66); README documents the range as 0..7.
    run = hr.run_program(background, f"{FAST} history_size={size}")
    assert run.returncode == 66, f"history_size={size} was not rejected:\n{hr.describe(run)}"
    assert run.stdout == "", hr.describe(run)
    assert "history_size" in run.stderr, hr.describe(run)


# lost_history arguments: 131 072 words x 1 pass = 131 072 recorded writes
# after the first access, 16 bytes of history each (address word + pc): 2 MiB,
# more than the 1 MiB window of history_size=0, well inside the 4 MiB window
# of history_size=2.
TWO_MIB_OF_EVENTS = ("131072", "1")


@pytest.mark.parametrize("size, restored", [(0, False), (2, True)])
def test_history_size_widens_the_window(builds, toolchain, size, restored):
    binary = builds.program(toolchain, "lost_history")
    run = hr.run_program(binary, f"{FAST} history_size={size}", args=TWO_MIB_OF_EVENTS)
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 1, hr.describe(run)
    previous = parsed.reports[0].previous
    assert (previous.frames is not None) == restored, parsed.reports[0].text
    if restored:
        assert previous.functions[0] == "main.firstWrite", parsed.reports[0].text


# ---- suppress_equal_stacks ----------------------------------------------------------


@pytest.mark.parametrize("option, expected", [("", 1), ("suppress_equal_stacks=1", 1), ("suppress_equal_stacks=0", 16)])
def test_suppress_equal_stacks(builds, toolchain, option, expected):
    run = hr.run_program(builds.program(toolchain, "repeated"), f"{FAST} {option}")
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == expected, hr.describe(run)
    assert parsed.found == [expected], hr.describe(run)
    source = hr.program_source("repeated")
    writers = {
        ("main.goroutineWriter", str(source), hr.line_of(source, "goroutine_write")),
        ("main.mainWriter", str(source), hr.line_of(source, "main_write")),
    }
    for report in parsed.reports:
        # The same pair of racing source locations every time, on distinct words.
        innermost = {report.current.locations[0], report.previous.locations[0]}
        assert innermost == writers, report.text
    assert len({r.current.address for r in parsed.reports}) == expected


# ---- report_atomic_races ------------------------------------------------------------


def _is_atomic_race(report: hr.TextReport) -> bool:
    return any("sync/atomic." in f for f in report.current.functions + report.previous.functions)


@pytest.mark.parametrize("option", ["", "report_atomic_races=1"])
def test_report_atomic_races_on(builds, toolchain, option):
    run = hr.run_program(builds.program(toolchain, "atomic_plain"), f"{FAST} {option}")
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 2 and parsed.found == [2], hr.describe(run)
    atomic = [r for r in parsed.reports if _is_atomic_race(r)]
    assert len(atomic) == 1, hr.describe(run)
    plain_side = {atomic[0].current.functions[0], atomic[0].previous.functions[0]} - {"sync/atomic.AddInt64"}
    assert plain_side == {"main.plainStoreCounter"}, atomic[0].text


def test_report_atomic_races_off_hides_only_atomic_races(builds, toolchain):
    run = hr.run_program(builds.program(toolchain, "atomic_plain"), f"{FAST} report_atomic_races=0")
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(run)
    report = parsed.reports[0]
    assert not _is_atomic_race(report), report.text
    assert {report.current.functions[0], report.previous.functions[0]} == {
        "main.goroutineStorePlain",
        "main.mainStorePlain",
    }, report.text


# ---- verbosity, help ------------------------------------------------------------------


def test_verbosity_1_prints_banner(background):
    run = hr.run_program(background, f"{FAST} verbosity=1")
    assert run.returncode == 0, hr.describe(run)
    lines = run.stderr.splitlines()
    assert len(lines) == 1, hr.describe(run)
    # The version is the VERSION file's, as `racert version` prints it.
    version = (hg.REPO_ROOT / "VERSION").read_text().strip()
    assert lines[0] == f"***** Running under racert {version} (pid {run.pid}) *****", lines[0]


def test_verbosity_0_is_silent(background):
    run = hr.run_program(background, f"{FAST} verbosity=0")
    assert run.returncode == 0 and run.stderr == "", hr.describe(run)


def readme_option_names() -> list[str]:
    """Option names of README.md's GORACE table."""
    readme = (hg.REPO_ROOT / "README.md").read_text()
    section = readme.split("### GORACE options", 1)[1].split("\n#", 1)[0]
    names = re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)
    assert len(names) >= 10, f"could not read the GORACE table from README.md: {names}"
    return names


COMPATIBILITY_OPTIONS = ["suppress_equal_addresses", "log_exe_name", "log_suffix"]


def test_help_lists_every_option(background):
    run = hr.run_program(background, f"{FAST} help=1")
    assert run.returncode == 0, hr.describe(run)
    assert run.stdout == "background: main done\n", "help=1 must not stop the program"
    listed = set(re.findall(r"^\t([a-z_]+)$", run.stderr, re.MULTILINE))
    expected = set(readme_option_names()) | set(COMPATIBILITY_OPTIONS)
    assert expected <= listed, f"missing from help: {sorted(expected - listed)}\n{run.stderr}"


# ---- syntax: separators and quoting ---------------------------------------------------


@pytest.mark.parametrize("separator", [" ", ",", ":", "\t", " , : "], ids=["space", "comma", "colon", "tab", "mixed"])
def test_separators(simple, separator):
    run = hr.run_program(simple, separator.join([FAST, "exitcode=13", "halt_on_error=1"]) + separator)
    assert run.returncode == 13, hr.describe(run)
    assert "simple: after the race" not in run.stdout, "halt_on_error was not applied"
    assert_simple_race_reported(run, run.stderr, completed=False)


@pytest.mark.parametrize("quote", ['"', "'"], ids=["double", "single"])
def test_quoted_value_keeps_separators(simple, tmp_path, quote):
    base = tmp_path / "with space,comma:colon" / "race-log"
    run = hr.run_program(simple, f"{FAST} log_path={quote}{base}{quote} exitcode={quote}13{quote}")
    assert run.returncode == 13, hr.describe(run)
    assert run.stderr == "", hr.describe(run)
    assert_simple_race_reported(run, Path(f"{base}.{run.pid}").read_text())


# ---- bad input ----------------------------------------------------------------------------


def _position(gorace: str, part: str) -> int:
    return gorace.index(part) + 1


MALFORMED = [
    # (GORACE, the bad part the message must name, its 1-based position)
    ("atexit_sleep_ms=0 halt_on_error", "halt_on_error", lambda g: _position(g, "halt_on_error")),
    ("atexit_sleep_ms=0 halt_on_error=2", "'2'", lambda g: _position(g, "=2") + 1),
    ("exitcode=abc", "abc", lambda g: _position(g, "abc")),
    ('atexit_sleep_ms=0,log_path="/tmp/unterminated', "log_path", lambda g: _position(g, '"')),
    ("atexit_sleep_ms=0:verbosity=0x", "0x", lambda g: _position(g, "0x")),
    ("exitcode=99999999999999999999", "99999999999999999999", lambda g: _position(g, "9")),
]


@pytest.mark.parametrize("gorace, bad_part, position", MALFORMED, ids=[
    "missing-equals", "bad-bool", "bad-int", "unterminated-quote", "bad-hex", "int-overflow"])
def test_malformed_gorace_stops_at_start(background, gorace, bad_part, position):
    run = hr.run_program(background, gorace)
    assert run.returncode == 66, hr.describe(run)
    assert run.stdout == "", f"the program must not start:\n{hr.describe(run)}"
    lines = run.stderr.splitlines()
    assert len(lines) == 1, hr.describe(run)
    message = lines[0]
    assert "GORACE" in message and bad_part in message, message
    assert re.search(rf"\bposition {position(gorace)}\b", message), f"want position {position(gorace)}: {message}"


def test_malformed_long_gorace_still_names_the_error(background):
    # A long (but legitimate-looking) value before the error: the message must
    # still name the bad part and its position, and end with a newline.
    gorace = f"strip_path_prefix=/{'x' * 1100} halt_on_error=2"
    run = hr.run_program(background, gorace)
    assert run.returncode == 66 and run.stdout == "", hr.describe(run)
    assert run.stderr.endswith("\n"), f"message cut short: ...{run.stderr[-120:]!r}"
    assert "halt_on_error" in run.stderr and "'2'" in run.stderr, f"...{run.stderr[-200:]!r}"
    assert re.search(rf"\bposition {gorace.index('=2') + 2}\b", run.stderr), f"...{run.stderr[-200:]!r}"


def test_unknown_option_warns_once_and_runs(background):
    run = hr.run_program(background, f"foo=1 {FAST}")
    assert run.returncode == 0, hr.describe(run)
    assert run.stdout == "background: main done\n"
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and "'foo'" in lines[0] and "warning" in lines[0].lower(), hr.describe(run)


def test_unknown_option_does_not_disturb_the_others(simple):
    run = hr.run_program(simple, f"{FAST} foo=1 exitcode=13 bar='x y'")
    assert run.returncode == 13, hr.describe(run)
    parsed = assert_simple_race_reported(run, run.stderr)
    assert len(parsed.other_lines) == 2, hr.describe(run)
    assert "'foo'" in parsed.other_lines[0] and "'bar'" in parsed.other_lines[1], parsed.other_lines


def test_compatibility_options_accepted_silently(background):
    run = hr.run_program(background, f"{FAST} suppress_equal_addresses=0 log_exe_name=1 log_suffix=.x")
    assert run.returncode == 0, hr.describe(run)
    assert run.stderr == "", hr.describe(run)

"""End-to-end: what race reports say, checked frame by frame.

Each Go program under tests/e2e/fixtures/reports marks the lines the reports must point
at with ``// LINE:<name>`` comments; the expected stacks below are built from
those markers (function, file, line), so nothing depends on hard-coded line
numbers, and every frame of every stack checked is compared in full and in
order. Reports are parsed with the strict parser of helpers_reports: a report
that is not exactly Go's format (docs/go-race-abi-notes.md §13.1) fails the parse.
"""

from __future__ import annotations

import re

import pytest

import helpers_go as hg
import helpers_reports as hr

FAST = "atexit_sleep_ms=0"


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> hr.GoBuilds:
    return hr.session_builds(tmp_path_factory)


@pytest.fixture(scope="session", params=hr.toolchain_params(with_releases=True))
def toolchain(request) -> hg.Toolchain:
    return request.param


def single_report(run: hr.ProgramRun) -> hr.TextReport:
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(run)
    return parsed.reports[0]


# ---- the basic shape --------------------------------------------------------------------


def test_simple_report(builds, toolchain):
    source = hr.program_source("simple")
    # GOMAXPROCS=1, as in Go's TestOutput: main runs its store before the
    # racer, so the racer's store is the current access.
    run = hr.run_program(builds.program(toolchain, "simple"), FAST, env_extra={"GOMAXPROCS": "1"})
    report = single_report(run)
    racer_stack = hr.expected_frame_locations(
        source,
        ("main.store", "store"),
        ("main.racer", "racer_calls_store"),
        (hr.go_statement_wrapper("main.startRacer", 1, run.go_version), "start_racer_go"),
    )
    main_stack = hr.expected_frame_locations(source, ("main.store", "store"), ("main.main", "main_calls_store"))
    if report.current.goroutine == 1:  # the other order, possible but unusual
        racer_side, main_side = report.previous, report.current
    else:
        racer_side, main_side = report.current, report.previous
    assert racer_side.locations == racer_stack, report.text
    assert main_side.locations == main_stack, report.text
    assert main_side.goroutine == 1 and racer_side.goroutine not in (None, 1), report.text
    assert report.current.kind == report.previous.kind == "write"
    assert report.current.address == report.previous.address
    # One creation block, for the racer only (never one for the main goroutine).
    (block,) = report.goroutines
    assert block.number == racer_side.goroutine and block.state == "running", report.text
    assert [f.location for f in block.created_at] == hr.expected_frame_locations(
        source, ("main.startRacer", "start_racer_go"), ("main.main", "main_calls_start_racer")
    ), report.text
    # The whole report is Go's layout line by line (offsets aside).
    assert re.fullmatch(
        r"==================\nWARNING: DATA RACE\n"
        r"(Write at 0x[0-9a-f]{12,} by (main goroutine|goroutine \d+):\n(  .*\(\)\n      .*:\d+ \+0x[0-9a-f]+\n)+)"
        r"\n(Previous write at 0x[0-9a-f]{12,} by (main goroutine|goroutine \d+):\n(  .*\(\)\n      .*:\d+ \+0x[0-9a-f]+\n)+)"
        r"\nGoroutine \d+ \(running\) created at:\n(  .*\(\)\n      .*:\d+ \+0x[0-9a-f]+\n)+"
        r"==================\n",
        report.text,
    ), report.text


# ---- access kinds and addresses ------------------------------------------------------------


def test_access_kinds_and_addresses(builds, toolchain):
    source = hr.program_source("kinds")
    run = hr.run_program(builds.program(toolchain, "kinds"), FAST)
    assert run.returncode == 66, hr.describe(run)
    printed = re.search(r"^element5=0x([0-9a-f]+) slice=0x([0-9a-f]+)$", run.stdout, re.MULTILINE)
    assert printed, run.stdout
    element5 = int(printed.group(1), 16)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 4 and parsed.found == [4], hr.describe(run)
    read_after_write, write_after_read, after_atomic, range_after_scalar = parsed.reports

    def main_side(marker, *inner):
        return hr.expected_frame_locations(
            source, *inner, ("main.mainAccesses", marker), ("main.main", "main_calls_accesses")
        )

    def goroutine_side(marker):
        return hr.expected_frame_locations(
            source, ("main.goroutineAccesses", marker),
            (hr.go_statement_wrapper("main.main", 1, run.go_version), "main_go_accesses"),
        )

    for report in parsed.reports:
        assert report.current.goroutine == 1 and report.previous.goroutine not in (None, 1), report.text
        assert report.current.address == report.previous.address, report.text

    assert (read_after_write.current.kind, read_after_write.previous.kind) == ("read", "write")
    assert read_after_write.text.count("\nRead at 0x") == 1 and "\nPrevious write at 0x" in read_after_write.text
    assert read_after_write.current.locations == main_side("main_read"), read_after_write.text
    assert read_after_write.previous.locations == goroutine_side("goroutine_write"), read_after_write.text

    assert (write_after_read.current.kind, write_after_read.previous.kind) == ("write", "read")
    assert "\nPrevious read at 0x" in write_after_read.text
    assert write_after_read.current.locations == main_side("main_write"), write_after_read.text
    assert write_after_read.previous.locations == goroutine_side("goroutine_read"), write_after_read.text

    # An atomic load is printed as a read (Go mode has no "atomic" wording).
    assert (after_atomic.current.kind, after_atomic.previous.kind) == ("write", "read")
    assert "atomic" not in after_atomic.text.replace("sync/atomic.", "")
    assert after_atomic.current.locations == main_side("main_write_after_atomic"), after_atomic.text
    assert after_atomic.previous.functions[0] == "sync/atomic.LoadInt64", after_atomic.text
    assert after_atomic.previous.frames[0].file.endswith("/src/runtime/race_amd64.s"), after_atomic.text

    # copy() is one range write made by runtime.slicecopy on main's behalf;
    # both lines print the first conflicting byte: element 5.
    assert (range_after_scalar.current.kind, range_after_scalar.previous.kind) == ("write", "write")
    assert range_after_scalar.current.functions[0] == "runtime.slicecopy", range_after_scalar.text
    assert range_after_scalar.current.locations[1:] == main_side("main_copy"), range_after_scalar.text
    assert range_after_scalar.previous.locations == goroutine_side("goroutine_element_write")
    assert range_after_scalar.current.address == element5, range_after_scalar.text


def test_each_access_line_prints_its_own_address_in_the_word(builds, toolchain):
    # Go's format (official runtime): each access line prints where that
    # access starts within the conflicting 8-byte word, so the two lines of
    # one report differ when the accesses start at different bytes.
    source = hr.program_source("subword")
    run = hr.run_program(builds.program(toolchain, "subword"), FAST)
    assert run.returncode == 66, hr.describe(run)
    addresses = dict(re.findall(r"^(text3|text5|data0|data5)=0x([0-9a-f]+)$", run.stdout, re.MULTILINE))
    assert len(addresses) == 4, run.stdout
    at = {name: int(value, 16) for name, value in addresses.items()}
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 2, hr.describe(run)
    string_race, copy_race = parsed.reports
    assert string_race.current.locations[0] == (
        "main.mainAccesses", str(source), hr.line_of(source, "main_byte_write")
    ), string_race.text
    assert string_race.previous.functions[:2] == ["runtime.slicebytetostring", "main.goroutineAccesses"]
    assert copy_race.current.functions[:2] == ["runtime.slicecopy", "main.mainAccesses"], copy_race.text
    assert copy_race.previous.locations[0] == (
        "main.goroutineAccesses", str(source), hr.line_of(source, "goroutine_byte_write")
    ), copy_race.text

    def line_addresses(report):
        return (hex(report.current.address), hex(report.previous.address))

    assert line_addresses(string_race) == (hex(at["text5"]), hex(at["text3"])), string_race.text
    assert line_addresses(copy_race) == (hex(at["data0"]), hex(at["data5"])), copy_race.text


def test_races_on_different_variables_from_the_same_lines_are_both_reported(builds, toolchain):
    # Default GORACE. a and b are different words written by different
    # instructions; only the source lines are shared. The official runtime
    # suppresses a report only for equal pc stacks, so it reports both.
    source = hr.program_source("same_line")
    run = hr.run_program(builds.program(toolchain, "same_line"), FAST)
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 2 and parsed.found == [2], f"want the races on a and on b:\n{hr.describe(run)}"
    lines = {hr.line_of(source, "goroutine_writes"), hr.line_of(source, "main_writes")}
    for report in parsed.reports:
        assert {report.current.frames[0].line, report.previous.frames[0].line} == lines, report.text
    assert len({r.current.address for r in parsed.reports}) == 2


# ---- the official runtime as the oracle ----------------------------------------------------------

# Deterministic runs (GOMAXPROCS=1, the order forced by the programs) whose
# reports the official runtime prints too. Excluded: deep_history and
# lost_history, whose races the official runtime drops (history overwritten),
# and concurrent, whose report order depends on the scheduler.
ORACLE_CASES = [
    ("simple", ""),
    ("simple", "strip_path_prefix=/main."),
    ("simple", "halt_on_error=1"),
    ("simple", "exitcode=13"),
    ("atomic_plain", ""),
    ("atomic_plain", "report_atomic_races=0"),
    ("kinds", ""),
    ("states", ""),
    ("repeated", ""),
    ("repeated", "suppress_equal_stacks=0"),
    ("subword", ""),
    ("same_line", ""),
]


def normalized(text: str, goroots: dict[str, str]) -> str:
    """Report text with what legitimately differs between two runtimes'
    builds masked: the GOROOT directory (racert builds through a view of it)
    and access addresses, which move with the object's size (globals follow
    it); only their byte offset within the 8-byte word is kept."""
    for path, name in goroots.items():
        text = text.replace(path.rstrip("/") + "/", name + "/")
    # Any racert GOROOT view (another engineer may rebuild the object, and so
    # change the view, while the session runs).
    text = re.sub(r"/\S*/racert/views/[^/\s]+/", "$GOROOT/", text)

    def word_offset(match: re.Match) -> str:
        return f"{match.group(1)} at WORD+{int(match.group(2), 16) % 8} by "

    return re.sub(r"^((?:Previous )?(?:[Rr]ead|[Ww]rite)) at 0x([0-9a-f]+) by ", word_offset, text, flags=re.M)


@pytest.mark.parametrize("program, option", ORACLE_CASES, ids=[f"{p}-{o or 'default'}" for p, o in ORACLE_CASES])
def test_reports_match_the_official_runtime(builds, toolchain, program, option):
    official = builds.official_program(toolchain, program)
    ours = builds.program(toolchain, program)
    goroots = {str(hr.real_goroot(toolchain)): "$GOROOT"}
    runs = {}
    for who, binary in (("official", official), ("racert", ours)):
        runs[who] = hr.run_program(binary, f"{FAST} {option}", env_extra={"GOMAXPROCS": "1"})
    assert runs["racert"].returncode == runs["official"].returncode, hr.describe(runs["racert"])
    assert normalized(runs["racert"].stderr, goroots) == normalized(runs["official"].stderr, goroots)


# ---- previous stacks: deep history and lost history ------------------------------------------


def test_previous_stack_restored_after_100k_calls(builds, toolchain):
    source = hr.program_source("deep_history")
    run = hr.run_program(builds.program(toolchain, "deep_history"), FAST)
    # The program really made the calls and iterations between the accesses.
    assert "deep_history: calls=100000 iterations=10000\n" in run.stdout, hr.describe(run)
    report = single_report(run)
    assert report.current.goroutine == 1, report.text
    assert report.current.locations == hr.expected_frame_locations(
        source, ("main.secondWrite", "second_write"), ("main.main", "main_calls_second_write")
    ), report.text
    worker = report.previous.goroutine
    assert worker not in (None, 1), report.text
    assert report.previous.locations == hr.expected_frame_locations(
        source,
        ("main.firstWrite", "first_write"),
        ("main.level3", "level3_calls"),
        ("main.level2", "level2_calls"),
        ("main.level1", "level1_calls"),
        ("main.worker", "worker_calls_level1"),
        (hr.go_statement_wrapper("main.main", 1, run.go_version), "main_go_worker"),
    ), report.text
    (block,) = report.goroutines
    assert (block.number, block.state) == (worker, "running"), report.text
    assert [f.location for f in block.created_at] == hr.expected_frame_locations(
        source, ("main.main", "main_go_worker")
    ), report.text


def test_race_beyond_history_window_still_reported(builds, toolchain):
    source = hr.program_source("lost_history")
    binary = builds.program(toolchain, "lost_history")
    # Default arguments: 4 passes over 2^20 words after the first access,
    # 4 Mi recorded accesses, 64 MiB of history against a 1 MiB window.
    run = hr.run_program(binary, f"{FAST} history_size=0")
    assert "lost_history: 4194304 writes after the first access\n" in run.stdout, hr.describe(run)
    report = single_report(run)
    assert report.current.locations == hr.expected_frame_locations(
        source, ("main.secondWrite", "second_write"), ("main.main", "main_calls_second_write")
    ), report.text
    assert report.previous.frames is None, f"the previous stack should be lost:\n{report.text}"
    assert "  [failed to restore the stack]\n" in report.text
    # Once per run, racert says why and what to do.
    notes = [line for line in run.stderr.splitlines() if line.startswith("racert: note: the earlier access is older")]
    assert len(notes) == 1 and "history_size=0: 1 MiB per goroutine, 64 MiB for all goroutines" in notes[0], run.stderr
    # The goroutine is still identified, with its creation stack.
    worker = report.previous.goroutine
    assert worker not in (None, 1), report.text
    (block,) = report.goroutines
    assert (block.number, block.state) == (worker, "running"), report.text
    assert [f.location for f in block.created_at] == hr.expected_frame_locations(
        source, ("main.main", "main_go_worker")
    ), report.text


@pytest.mark.parametrize(
    "gorace, args",
    [("history_size=0", ("1048576", "0")), ("history_size=7", ())],
    ids=["no-churn", "history_size=7"],
)
def test_lost_history_control_runs_restore_the_stack(builds, toolchain, gorace, args):
    # The same program restores the stack when nothing pushed the first
    # access out of the window: without the churn, or with a 128 MiB window.
    source = hr.program_source("lost_history")
    run = hr.run_program(builds.program(toolchain, "lost_history"), f"{FAST} {gorace}", args=args)
    report = single_report(run)
    assert report.previous.locations == hr.expected_frame_locations(
        source,
        ("main.firstWrite", "first_write"),
        ("main.worker", "worker_calls_first_write"),
        (hr.go_statement_wrapper("main.main", 1, run.go_version), "main_go_worker"),
    ), report.text


def test_race_with_long_forgotten_goroutine_still_reported(builds, toolchain):
    # 3000 goroutines finish between the two accesses: the earlier goroutine
    # may no longer be known ("unknown goroutine", no stack, no creation
    # block; the official runtime drops such a race), but the race must be
    # reported, with the current stack intact.
    source = hr.program_source("forgotten")
    run = hr.run_program(builds.program(toolchain, "forgotten"), FAST)
    assert "forgotten: 3000 goroutines finished in between\n" in run.stdout, hr.describe(run)
    report = single_report(run)
    assert report.current.locations == hr.expected_frame_locations(
        source, ("main.mainWrite", "main_write"), ("main.main", "main_calls_write")
    ), report.text
    finisher_stack = hr.expected_frame_locations(source, ("main.finisherWrite", "finisher_write"))
    if report.previous.goroutine is None:
        assert report.previous.frames is None and report.goroutines == [], report.text
    else:
        assert report.previous.goroutine != 1, report.text
        assert report.previous.frames is None or report.previous.locations == finisher_stack, report.text
        assert [(g.number, g.state) for g in report.goroutines] == [(report.previous.goroutine, "finished")]


def test_recently_finished_goroutine_is_named(builds, toolchain):
    # Control for the test above: with 10 goroutines in between the finisher
    # is still known, with its stack and a "finished" creation block.
    source = hr.program_source("forgotten")
    run = hr.run_program(builds.program(toolchain, "forgotten"), FAST, args=["10"])
    report = single_report(run)
    assert report.previous.goroutine not in (None, 1), report.text
    assert report.previous.locations == hr.expected_frame_locations(
        source, ("main.finisherWrite", "finisher_write")
    ), report.text
    assert [(g.number, g.state) for g in report.goroutines] == [(report.previous.goroutine, "finished")]


# ---- goroutines ------------------------------------------------------------------------------------


def test_goroutine_states(builds, toolchain):
    source = hr.program_source("states")
    run = hr.run_program(builds.program(toolchain, "states"), FAST)
    assert run.returncode == 66, hr.describe(run)
    assert run.stdout == "states: done\n"
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 2 and parsed.found == [2], hr.describe(run)
    on_a, on_b = parsed.reports

    # Race 1: main goroutine against a goroutine that has finished.
    assert on_a.current.goroutine == 1, on_a.text
    assert on_a.current.locations == hr.expected_frame_locations(
        source, ("main.mainWriteA", "main_write_a"), ("main.main", "main_calls_write_a")
    ), on_a.text
    finisher = on_a.previous.goroutine
    assert finisher not in (None, 1), on_a.text
    assert on_a.previous.locations == hr.expected_frame_locations(
        source, ("main.finisherWrite", "finisher_write")
    ), on_a.text
    (block,) = on_a.goroutines  # none for the main goroutine
    assert (block.number, block.state) == (finisher, "finished"), on_a.text
    assert [f.location for f in block.created_at] == hr.expected_frame_locations(
        source, ("main.startFinisher", "start_finisher_go"), ("main.main", "main_calls_start_finisher")
    ), on_a.text

    # Race 2: two live goroutines; blocks for the current one, then the previous.
    writer, holder = on_b.current.goroutine, on_b.previous.goroutine
    assert len({writer, holder, finisher, 1, None}) == 5, on_b.text
    assert on_b.current.locations == hr.expected_frame_locations(
        source, ("main.writerWrite", "writer_write"), ("main.main.func2", "writer_calls_write")
    ), on_b.text
    assert on_b.previous.locations == hr.expected_frame_locations(
        source, ("main.holderWrite", "holder_write"), ("main.main.func1", "holder_calls_write")
    ), on_b.text
    assert [(g.number, g.state) for g in on_b.goroutines] == [(writer, "running"), (holder, "running")], on_b.text
    assert [f.location for f in on_b.block_of(writer).created_at] == hr.expected_frame_locations(
        source, ("main.main", "main_go_writer")
    ), on_b.text
    assert [f.location for f in on_b.block_of(holder).created_at] == hr.expected_frame_locations(
        source, ("main.main", "main_go_holder")
    ), on_b.text


# ---- go test ---------------------------------------------------------------------------------------------


def test_go_test_fails_the_racy_test_only(builds, toolchain):
    binary = builds.test_binary(toolchain, "gotest")
    # stderr merged into stdout: the report must land inside TestRacy's output.
    run = hr.run_program(binary, FAST, args=["-test.v"], merge_stderr=True)
    out = run.stdout
    assert run.returncode == 1, hr.describe(run)
    racy = re.search(r"^=== RUN   TestRacy\n(.*?)^--- FAIL: TestRacy \(", out, re.MULTILINE | re.DOTALL)
    assert racy, f"TestRacy did not fail:\n{out}"
    racy_output = racy.group(1)
    parsed = hr.parse_output(racy_output)
    assert len(parsed.reports) == 1, out
    source = hr.program_source("gotest")
    innermost = {parsed.reports[0].current.locations[0], parsed.reports[0].previous.locations[0]}
    assert innermost == {
        ("command-line-arguments.TestRacy.func1", str(source), hr.line_of(source, "racy_goroutine_write")),
        ("command-line-arguments.TestRacy", str(source), hr.line_of(source, "racy_test_write")),
    }, parsed.reports[0].text
    assert re.search(r"^\s+testing\.go:\d+: race detected during execution of test$", racy_output, re.MULTILINE), out
    # Counted synchronously: t.Failed() is already true right after the race.
    assert "failed right after the race: true" in racy_output, out
    passes = re.search(r"^=== RUN   TestPasses\n(.*?)^--- PASS: TestPasses \(", out, re.MULTILINE | re.DOTALL)
    assert passes, f"TestPasses did not pass:\n{out}"
    assert "DATA RACE" not in passes.group(1) and "race detected" not in passes.group(1), out
    assert out.endswith("FAIL\n"), out
    assert "Found" not in out, "a failing test binary exits through os.Exit(1), before the Found line"


def test_go_test_without_the_racy_test_passes(builds, toolchain):
    run = hr.run_program(builds.test_binary(toolchain, "gotest"), FAST, args=["-test.run", "TestPasses"])
    assert run.returncode == 0, hr.describe(run)
    assert run.stdout == "PASS\n" and run.stderr == "", hr.describe(run)


# ---- concurrency ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gomaxprocs", ["2", "4"])
def test_concurrent_reports_never_interleave(builds, toolchain, gomaxprocs):
    source = hr.program_source("concurrent")
    run = hr.run_program(
        builds.program(toolchain, "concurrent"),
        f"{FAST} suppress_equal_stacks=0",
        env_extra={"GOMAXPROCS": gomaxprocs},
    )
    assert run.returncode == 66, hr.describe(run)
    # parse_output fails on any report that is not exactly well-formed, and
    # on any report text (header, separator) outside a well-formed report.
    parsed = hr.parse_output(run.stderr)
    expected = 16 * 128  # pairs x cells: every word races exactly once
    assert len(parsed.reports) == expected, f"{len(parsed.reports)} reports"
    assert parsed.found == [expected]
    assert parsed.other_lines == [], parsed.other_lines[:10]
    forward = ("main.forwardWriter", str(source), hr.line_of(source, "forward_write"))
    backward = ("main.backwardWriter", str(source), hr.line_of(source, "backward_write"))
    for report in parsed.reports:
        assert {report.current.locations[0], report.previous.locations[0]} == {forward, backward}, report.text
        assert report.current.goroutine != report.previous.goroutine
        assert {g.number for g in report.goroutines} == {report.current.goroutine, report.previous.goroutine}
    assert len({r.current.address for r in parsed.reports}) == expected, "one report per word"


def test_parser_rejects_interleaved_and_cut_reports(builds, toolchain):
    # The non-interleaving check above is only as good as the parser: feed it
    # real reports, mangled the ways concurrent writers would mangle them.
    run = hr.run_program(builds.program(toolchain, "concurrent"), f"{FAST} suppress_equal_stacks=0")
    first, second = hr.parse_output(run.stderr).reports[:2]
    a, b = first.text.splitlines(), second.text.splitlines()
    interleaved = a[:5] + b + a[5:]
    cut = a[:7] + b
    line_swapped = a[:3] + [a[4], a[3]] + a[5:]
    for mangled in (interleaved, cut, line_swapped):
        with pytest.raises(hr.ReportFormatError):
            hr.parse_output("\n".join(mangled) + "\n")
    assert len(hr.parse_output(first.text + second.text).reports) == 2

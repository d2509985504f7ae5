"""End-to-end: races across goroutine identity (slot) hand-overs, with real goroutines.

The race runtime gives goroutines a bounded number of identities (README: 256
slots, "Known limit"), reused when a goroutine ends and taken from live ones
when more are alive. The program tests/e2e/fixtures/slots/handover (see its header
comment) puts a writer's access and a reader's access on either side of such
hand-overs, in four variants, named as it prints them:

  reuse_race          the writer exits, -n workers start, the reader
                      synchronizes with every worker, then accesses the
                      writer's variable: a race, in every run
  steal_race          the same with the writer alive and blocked while more
                      than 256 goroutines are alive: a race, in every run
  reuse_chain_norace  reuse_race plus a baton passed writer -> every worker ->
  steal_norace        reader (steal_race plus the same): never a race

-handover=reuse or -handover=steal selects the writer's fate, -baton the
chain (VARIANT_FLAGS).

Each case runs RUNS (20) times with GORACE=atexit_sleep_ms=0.
Where there is a race, every run must report exactly it, attributed: the
current access is the reader's, the previous one is the writer's write
("Previous write at ... by goroutine W") with the writer's stack, and the
goroutine blocks say that W was created by main's `go writer()` (finished, or
running for steal) and the reader by main's `go reader()`.

Goroutine numbers: race reports (the official runtime's and racert's alike)
number goroutines in the race runtime's own sequence, not with the Go
goroutine ids runtime.Stack prints (the program prints the writer's Go id;
in one run it was 21 while the report said 9). So the writer is identified in
a report by its creation stack, which only the writer has, and by its stack.

Issue 8: when this file was written, racert missed the races in every run
once more than about 250 goroutines were started after the writer (at n=300,
1000 and 10000 with every -sync and -access); those cases are marked xfail(strict=True, raises=
IdentityLost), so they fail with XPASS as soon as the runtime reports them,
and the marker must then be removed. Any other failure (wrong output, a
malformed report, two reports, a crash) fails them as usual. Cases below the
slot count are normal tests: they show the program's races are detectable and
the attribution check is satisfiable.

Exact hand-overs (issue 8, built): with -join=wg main waits for each batch of
finishing workers, so later workers know every access of the freed slots and
the runtime hands those out instead of the writer's. Those cases (300 to
10,000 workers, at most 32 alive) are normal tests; with 500 alive (slots
taken from live goroutines) the race is still lost and the case is xfail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import helpers_go as hg
import helpers_reports as hr

SOURCE = hg.FIXTURES_DIR / "slots" / "handover" / "main.go"
# The variants of the program, by the name it prints, and the flags selecting them.
VARIANT_FLAGS = {
    "reuse_race": ["-handover=reuse"],
    "steal_race": ["-handover=steal"],
    "reuse_chain_norace": ["-handover=reuse", "-baton"],
    "steal_norace": ["-handover=steal", "-baton"],
}
PROGRAMS = tuple(VARIANT_FLAGS)
FAST = "atexit_sleep_ms=0"
RUNS = 20  # per case; the n=10000 runs take 0.3-1 s each, the others well under


class IdentityLost(AssertionError):
    """A race across identity hand-overs was missed, or its earlier access was
    not attributed to the writer (issue 8). Other failures are plain
    AssertionErrors, which the xfail markers below do not absorb."""


ISSUE_8 = pytest.mark.xfail(
    strict=True,
    raises=IdentityLost,
    reason="issue 8: a goroutine that synchronizes with a slot's new owner inherits the slot's epoch, "
    "which covers an earlier owner's unsynchronized write: the race is missed",
)


@dataclass(frozen=True)
class Case:
    program: str  # the variant
    n: int
    sync: str = "chan"
    access: str = "read"
    join: str = "poll"  # how main waits for finishing workers
    keep: int | None = None  # -alive, when not the program's default

    @property
    def racy(self) -> bool:
        return not self.program.endswith("_norace")

    @property
    def steal(self) -> bool:
        return self.program.startswith("steal")

    @property
    def alive(self) -> int:
        """-alive as the program takes it (its default unless `keep` is set)."""
        if self.keep is not None:
            return self.keep
        return self.n if self.steal else self.n // 2

    @property
    def args(self) -> list[str]:
        args = [*VARIANT_FLAGS[self.program], f"-n={self.n}", f"-sync={self.sync}", f"-access={self.access}"]
        if self.join != "poll":
            args.append(f"-join={self.join}")
        if self.keep is not None:
            args.append(f"-alive={self.keep}")
        return args

    @property
    def stdout(self) -> str:
        return f"{self.program}: n={self.n} alive={self.alive} sync={self.sync} access={self.access}: done\n"

    @property
    def id(self) -> str:
        extra = "" if (self.sync, self.access) == ("chan", "read") else f"-{self.sync}-{self.access}"
        if self.join != "poll":
            extra += f"-join{self.join}"
        if self.keep is not None:
            extra += f"-alive{self.keep}"
        return f"{self.program}-n{self.n}{extra}"


def case_params() -> list:
    params = []

    def add(case: Case, *marks):
        params.append(pytest.param(case, id=case.id, marks=marks))

    # Fewer goroutines than slots: the writer's identity is never handed
    # over (racert hands out never-used slots first).
    for program in ("reuse_race", "steal_race"):
        add(Case(program, 10))
        add(Case(program, 200))
    # Hand-overs. The racy variants miss their race here (issue 8).
    for program in PROGRAMS:
        marks = [ISSUE_8] if not program.endswith("_norace") else []
        for n in (300, 1000, 10000):
            add(Case(program, n), *marks)
        for sync in ("mutex", "wg"):
            add(Case(program, 1000, sync=sync), *marks)
        add(Case(program, 300, access="write"), *marks)
    # Exact hand-overs: main waits for each batch of finishing workers with a
    # WaitGroup, so the workers it starts next know every access of the freed
    # slots and take those, never the writer's (which nobody knows). Found in
    # every run however many goroutines follow, as long as no slot has to be
    # taken from a live goroutine (at most 32 stay alive here).
    for n in (300, 1000, 10000):
        add(Case("reuse_race", n, join="wg", keep=32))
    add(Case("reuse_race", 1000, sync="wg", join="wg", keep=0))
    add(Case("reuse_race", 1000, sync="mutex", access="write", join="wg", keep=0))
    # Still lost: more than 256 alive at once (slots are taken from live
    # goroutines), or nobody knows the finished workers' accesses (-join=poll
    # above).
    add(Case("reuse_race", 1000, join="wg", keep=500), ISSUE_8)
    return params


# ---- building ---------------------------------------------------------------------


@pytest.fixture(scope="session", params=hr.toolchain_params())
def toolchain(request) -> hg.Toolchain:
    return request.param


@pytest.fixture(scope="session")
def slot_binary(toolchain, tmp_path_factory) -> Path:
    """The program built with racert's object, once per toolchain."""
    builds = hr.session_builds(tmp_path_factory)
    return builds.build_source(toolchain, SOURCE, builds.out_dir / toolchain.id / "slots" / "handover")


def official_binary(toolchain: hg.Toolchain, out_dir: Path) -> Path:
    """The program built by plain ``go build -race`` against the toolchain's own
    GOROOT (Go's official race object); skips if that GOROOT holds another object."""
    return hr.GoBuilds(out_dir).official_source(toolchain, SOURCE, out_dir / "handover")


# ---- checking one run ---------------------------------------------------------------


def frames(*pairs: tuple[str, str]) -> list[tuple[str, str, int]]:
    return hr.expected_frame_locations(SOURCE, *pairs)


def check_common(run: hr.ProgramRun, case: Case) -> hr.ParsedOutput:
    """What every run must show, race or not: the program ran to its end."""
    assert run.returncode in (0, 66), hr.describe(run)
    assert run.stdout == case.stdout, hr.describe(run)
    parsed = hr.parse_output(run.stderr)  # raises on any malformed report
    assert len(parsed.other_lines) == 1 and re.fullmatch(
        rf"{case.program}: writer is Go goroutine [0-9]+", parsed.other_lines[0]
    ), hr.describe(run)
    assert (run.returncode == 66) == bool(parsed.reports), hr.describe(run)
    return parsed


def check_race_reported(run: hr.ProgramRun, case: Case) -> None:
    """Exactly the writer/reader race, attributed to the writer."""
    parsed = check_common(run, case)
    if not parsed.reports:
        raise IdentityLost(f"the race was not reported:\n{hr.describe(run)}")
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(run)
    report = parsed.reports[0]
    current, previous = report.current, report.previous

    # The current access: the reader's, on the writer's variable.
    reader_frame = ("main.readerRead", "reader_read") if case.access == "read" else ("main.readerWrite", "reader_write")
    reader_call = "reader_calls_read" if case.access == "read" else "reader_calls_write"
    assert current.kind == case.access, report.text
    assert current.locations == frames(reader_frame, ("main.reader", reader_call)), report.text
    assert current.address == previous.address, report.text
    reader = current.goroutine
    assert reader not in (None, 1), report.text

    # The previous access: the writer's write, by the writer.
    assert previous.kind == "write", report.text
    writer = previous.goroutine
    if writer is None or writer in (1, reader):
        raise IdentityLost(f"the previous write is not attributed to a goroutine other than the reader:\n{report.text}")
    if previous.frames is None:
        raise IdentityLost(f"the writer's stack was not restored:\n{report.text}")
    assert previous.locations == frames(
        ("main.writerWrite", "writer_write"), ("main.writer", "writer_calls_write")
    ), report.text

    # Goroutine blocks: the reader's, then the writer's; only the writer was
    # created by main's `go writer()`, so this names the real writer.
    writer_state = "running" if case.steal else "finished"
    blocks = [(g.number, g.state) for g in report.goroutines]
    if blocks != [(reader, "running"), (writer, writer_state)]:
        raise IdentityLost(f"want blocks for reader {reader} (running) and writer {writer} ({writer_state}):\n{report.text}")
    assert [f.location for f in report.block_of(reader).created_at] == frames(("main.main", "main_go_reader")), report.text
    if [f.location for f in report.block_of(writer).created_at] != frames(("main.main", "main_go_writer")):
        raise IdentityLost(f"goroutine {writer} was not created by `go writer()`:\n{report.text}")


def check_no_race(run: hr.ProgramRun, case: Case) -> None:
    parsed = check_common(run, case)
    assert not parsed.reports and run.returncode == 0, f"false positive:\n{hr.describe(run)}"


# ---- the tests ------------------------------------------------------------------------


@pytest.mark.parametrize("case", case_params())
def test_slot_handover(slot_binary, case):
    check = check_race_reported if case.racy else check_no_race
    for attempt in range(1, RUNS + 1):
        run = hr.run_program(slot_binary, FAST, args=case.args)
        try:
            check(run, case)
        except AssertionError as failure:
            failure.args = (f"run {attempt} of {RUNS} ({' '.join(case.args)}): {failure.args[0] if failure.args else ''}",)
            raise


@pytest.mark.parametrize("program", [p for p in PROGRAMS if p.endswith("_norace")])
def test_norace_programs_are_clean_with_the_official_runtime(toolchain, program, tmp_path):
    # An independent check of the variants, not of racert: Go's own runtime
    # must not report a race in them either.
    case = Case(program, 1000)
    binary = official_binary(toolchain, tmp_path)
    for _ in range(5):
        check_no_race(hr.run_program(binary, FAST, args=case.args), case)

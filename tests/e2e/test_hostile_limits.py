"""End-to-end: racert under hostile limits (issue 10, item 4): a precise message or
correct behaviour, never a crash, a hang or a silently lost report.

All cases run tests/e2e/fixtures/limits/hostile (one binary, one -mode per case; see its
header) or tests/e2e/fixtures/limits/bigdata (a 1.75 GiB bss), built with racert's object
and, where the official object's behaviour is the reference, with Go's own
(plain ``go build -race``).

What each case showed when it was written (Go 1.26.8, 2 cores):

* ``ulimit -v`` below racert's reservations (~460 GiB with MAP_NORESERVE).
  Before: racert died at its first shadow mapping with "cannot map shadow
  memory at [...] for application range [...]: the address range is already in
  use" (wrong: the mapping failed with ENOMEM; and the application range named
  for the tertiary shadow was not one), at any limit below ~440 GiB, while the
  official object runs this program under 1 GB (Go itself needs ~0.7 GB). Now:
  one note at start says racert reserves only what the program uses (heap
  shadow per 64 MiB arena, cell sets mapped 16 MiB at a time as they are
  carved, sync counts for the heap only), and -mode=race runs every time from
  1900000 KiB up (3 runs of 4 at 1800000, 1 at 1700000: thread stacks and libc
  arenas vary); the official object runs at 1000000 and from 1800000 up, but
  not from 1200000 to 1700000 (ThreadSanitizer's "failed to allocate" or
  "internal allocator is out of memory", or Go's "too many address space
  collisions"). Below that, one FATAL line names the mapping that failed, its
  size, the limit and the remedy. Where Go's own reservation is the one that
  fails (its next arena, page summaries, a thread stack), Go stops with "too
  many address space collisions for -race mode" and the like, naming no cause;
  racert cannot catch that, so it checks what is left after each shadow
  mapping: one warning when little is left (before Go's message), a FATAL with
  the figures when data and bss leave less than Go needs to start at all (850
  MiB).
* A heap in pieces far apart (-mode=farheap: one PROT_NONE page at the start
  of the arena hints Go should skip). 2 slices of 128 MiB, the heap jumping
  from 0xc000000000 to 0xdf00000000 (124 GiB up): both objects find the one
  race in the far arena, none on the first words handed over through a channel
  or on a word guarded by a mutex that lives in the far slice (sync objects in
  the far arena). Smallest ``ulimit -v`` that runs (3 runs of 3): official
  2700000 KiB, racert 3400000 before, 2900000 now (the cell-set arena no
  longer takes limit/8 up front). 12 GiB in 24 slices of 512 MiB, 4 pieces
  spanning 100 GiB (28 GiB, 8 pieces with RACERT_HOSTILE_LONG=1): both find
  the race, none false; racert took 4.6 s (11 s on a busy machine) because
  every allocation cleared its shadow word by word, the official object 0.03
  s; now racert reads only shadow pages the kernel says were written: 0.03 s,
  peak RSS 21 MB (official 34 MB). Smallest limit: official ~45800000 KiB,
  racert ~59600000 before, ~52200000 now (bisected; a heap byte costs racert 4
  bytes of address space, the official object 3.5); below it one FATAL naming
  the 512 MiB shadow mapping, or the warning and then Go's message (before:
  Go's message alone, e.g. at 48500000 KiB). 100 GiB (measured by hand):
  racert 0.42 s, 128 MB; official 0.18 s, 140 MB. 130 GiB: Go grows its last
  hint past 0xe000000000 (to 0xe180000000); racert reports the race there, the
  official object loses it silently (exit 0); racert took about 100 s for it
  before the page-map change, 0.5 s now. The same under ulimit -v 600000000
  KiB (above racert's ~460 GiB default reservations, so no per-arena mode):
  before, FATAL "cannot reserve 68719476736 bytes (65536 MiB) for shadow cell
  sets" after the report, the 130 GiB heap having taken the room; now the
  cell-set arena is mapped as needed under any limit, and the run completes. 6
  GiB from the last hint (0xdf00000000) already end at 0xe080000000: the
  official object misses the race at 0xe07ffffff8 (exit 0, also under a 40 GB
  limit); racert finds it, also under that limit with shadow per arena.
* Big slices allocated and freed so the heap reuses their memory (-mode=reuse:
  12 rounds of a 64 MiB slice written, one word in 64, by a goroutine nothing
  orders with main, every 4th kept, the rest collected, and a second slice per
  round that main writes at the same words; 24 rounds of 256 MiB with
  RACERT_HOSTILE_LONG=1): the slices land on 4 addresses (8 in the long run),
  and both objects report only the one true race at the end. With racert's
  clearing of big ranges switched off (a check of the test), 10 false reports.
  Time and peak RSS: racert 1.3-2.0 s, 545 MB; official 4.2-4.6 s, 807 MB
  (long: 11.3 s, 3.7 GB against 48.5 s, 5.5 GB). While writing it, a first
  version of the program captured the slice variable in the goroutine and set
  it to nil in main: a true race on the variable, hidden from the detector's
  view of order, which racert reported 12 times (with "[failed to restore the
  stack]" for the goroutine's old read) and the official object not at all (it
  drops a report when it cannot restore the earlier access's stack).
* Data and bss of a very large binary (tests/e2e/fixtures/limits/bigdata): the Go linker
  refuses a symbol of 2e9 bytes and a data segment past 2 GiB, so 1.75 GiB of
  bss is about the most a Go program can have. Both objects find the race on
  its last byte, and none on a byte handed over through a channel (peak RSS
  racert 4.4 MB, official 18 MB). Smallest limit (bisected): official ~7950000
  KiB (below it, by limit: "failed to reserve page summary memory", "too many
  address space collisions", ThreadSanitizer's "failed to allocate" or
  "internal allocator is out of memory", or exit 2 with no message); racert
  ~9050000 (3 shadow bytes per data byte, the official 2.5). Below it racert
  gives, from low to high: the FATAL naming the 1796 MiB shadow mapping for
  the data range; the new FATAL "leaves 623 MiB after the program's data and
  bss ... raise the limit above 8232016 KiB" (at 8000000; before: Go's "too
  many address space collisions for -race mode" from 8000000 to 8500000); from
  there to ~9050000 the warning and then Go's message ("too many address space
  collisions", "pthread_create failed").
* log_path on a full disk (the <log_path>.<pid> file is a symlink to
  /dev/full). Before: racert and the official object both lost the report
  silently (nothing on stderr, exit status 66). Now: one warning naming the
  file and ENOSPC, then the report on stderr; a failing json_path is warned
  about once. A log_path whose directory cannot be created: the official
  object stops the program at start ("ERROR: Can't create directory"), racert
  warns and reports on stderr (unchanged).
* fork/exec from a racy program: the same with both objects before and after
  (child runs, reports its own race, exits 66; parent reports its two races).
* Signals: a SIGUSR1/SIGINT storm caught by a handler goroutine during 300
  reports: all 300 well-formed, "Found 300" with racert; the official object
  sometimes prints fewer (0, 45, 89, 95 of 300 seen, about one run in eight). os.Exit(0)
  from the SIGTERM handler while another goroutine writes reports: before,
  racert's "Found N" missed the report being written (6 of 6 runs, e.g. 81
  reports printed, "Found 80"); the official object's count matched. Now the
  summary waits for the report lock. Without a handler, SIGTERM/SIGINT end the
  program at once (-15/-2), as with the official object.
* Pools: 500k mutexes alive (3M with RACERT_HOSTILE_LONG=1): no report, no
  message; rounds of 100k mutexes dropped and collected level off (15 rounds
  118 MB, 8 rounds 116 MB; the official object 84 MB flat); 500k alive: peak RSS 121 MB vs the official's 339 MB (3M: 570 MB vs 1.08 GB):
  a sync object's clock holds only the slots active when it was released to
  (before, a full-width clock each: 813 MB and 4.7 GB).
  262k words read by 64 goroutines (1M with the long option): no report;
  racert keeps every reader's cell (no eviction, by design), ~33 bytes per
  (word, reader): 2.1 GB for 1M x 64 against the official's 54 MB. No internal
  limit is reached at these sizes (the cell-set arena is 64 GiB; memory runs
  out first), so no limit message is expected, and none is printed.

RACERT_HOSTILE_LONG=1 runs the pool cases at full size (minutes, GBs of RSS),
the far-apart heap with 28 GiB and the reused slices with 24 x 256 MiB.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

import helpers_go as hg
import helpers_reports as hr

SOURCE = hg.FIXTURES_DIR / "limits" / "hostile" / "main.go"
BIG_DATA_SOURCE = hg.FIXTURES_DIR / "limits" / "bigdata" / "main.go"
LONG = os.environ.get("RACERT_HOSTILE_LONG") == "1"
FAST = "atexit_sleep_ms=0"
MiB = 1 << 20


@pytest.fixture(scope="module")
def toolchain() -> hg.Toolchain:
    toolchains = hg.discover_toolchains()
    if not toolchains:
        pytest.skip("no go on PATH")
    return toolchains[0]


@pytest.fixture(scope="module")
def racert_binary(toolchain, tmp_path_factory) -> Path:
    builds = hr.session_builds(tmp_path_factory)
    return builds.build_source(toolchain, SOURCE, builds.out_dir / toolchain.id / "limits" / "hostile")


@pytest.fixture(scope="module")
def official_binary(toolchain, tmp_path_factory) -> Path:
    builds = hr.session_builds(tmp_path_factory)
    return builds.official_source(toolchain, SOURCE, builds.out_dir / toolchain.id / "limits" / "hostile.official")


@pytest.fixture(params=["racert", "official"])
def either_binary(request) -> Path:
    return request.getfixturevalue(f"{request.param}_binary")


@pytest.fixture(scope="module")
def big_data_binaries(toolchain, tmp_path_factory) -> dict[str, Path]:
    builds = hr.session_builds(tmp_path_factory)
    out = builds.out_dir / toolchain.id / "limits"
    return {"racert": builds.build_source(toolchain, BIG_DATA_SOURCE, out / "bigdata"),
            "official": builds.official_source(toolchain, BIG_DATA_SOURCE, out / "bigdata.official")}


def run(command: list[str], gorace: str = FAST, *, address_space_kib: int | None = None,
        timeout: float = 120) -> hr.ProgramRun:
    def limit():
        if address_space_kib is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space_kib * 1024, resource.RLIM_INFINITY))

    started = time.monotonic()
    proc = subprocess.run([str(c) for c in command], env=hr.clean_env(gorace), capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit)
    return hr.ProgramRun(proc.returncode, proc.stdout, proc.stderr, pid=0, elapsed_s=time.monotonic() - started)


def peak_rss_bytes(run_: hr.ProgramRun) -> int:
    found = re.search(r"^hostile: peak RSS (\d+) kB$", run_.stdout, re.MULTILINE)
    assert found, hr.describe(run_)
    return int(found.group(1)) * 1024


def racert_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("racert:")]


# ---- address-space limit ------------------------------------------------------------

LIMIT_NOTE = re.compile(
    r"racert: note: the address-space limit \(ulimit -v\) of (?P<limit>\d+) KiB is below the \d+ GiB racert "
    r"reserves by default; it maps heap shadow per 64 MiB arena, maps the shadow cell sets as they are needed "
    r"\(up to \d+ MiB\) and counts sync objects only in the heap \(slower frees elsewhere\); a run that needs "
    r"more stops with a message \(ulimit -v unlimited lifts the limit\)"
)
LIMIT_FATAL = re.compile(
    r"racert: FATAL: cannot (map|reserve) (?P<bytes>\d+) bytes \(\d+ MiB\) for (?P<what>.+): out of address space "
    r"\(ENOMEM\) under the address-space limit \(ulimit -v\) of (?P<limit>\d+) KiB; racert reserves large ranges "
    r"of address space that cost memory only where touched: raise the limit \(ulimit -v unlimited\)"
)


def split_note(result: hr.ProgramRun, limit_kib: int) -> str:
    """Checks the one-time note about the limit opens stderr; returns the rest."""
    first, _, rest = result.stderr.partition("\n")
    note = LIMIT_NOTE.fullmatch(first)
    assert note and int(note.group("limit")) == limit_kib, hr.describe(result)
    return rest


LIMIT_WARNING = re.compile(
    r"racert: warning: \d+ MiB of the address-space limit \(ulimit -v\) of (?P<limit>\d+) KiB are left after "
    r"mapping shadow for \[0x[0-9a-f]+, 0x[0-9a-f]+\) \(\d+ MiB\); under racert a byte of heap takes 4 bytes of "
    r"address space \(itself and 3 of shadow\)(, and Go's runtime reserves about 1\.1 GiB more to start)?; if the "
    r"program then stops in Go's runtime \(.*\), the limit is the cause: raise it \(ulimit -v unlimited\)")
GO_FATAL = re.compile(r"^(fatal error: .+|runtime/cgo: pthread_create failed: .+)$", re.MULTILINE)


def check_limit_reached(result: hr.ProgramRun, limit_kib: int, fatal: re.Pattern = LIMIT_FATAL) -> str:
    """A run that needs more than the limit: after the note, either one racert
    FATAL line (exit 66), or racert's warning and then Go's own fatal error
    (Go's reservation failed first; Go names no cause). Returns which."""
    lines = split_note(result, limit_kib).splitlines()
    ours = [line for line in lines if line.startswith("racert:")]
    warnings = [line for line in ours if LIMIT_WARNING.fullmatch(line)]
    assert len(warnings) <= 1, hr.describe(result)
    fatals = [line for line in ours if line.startswith("racert: FATAL:")]
    assert len(ours) == len(warnings) + len(fatals), hr.describe(result)
    if fatals:
        assert result.returncode == 66 and len(fatals) == 1 and ours[-1] == fatals[0], hr.describe(result)
        found = fatal.fullmatch(fatals[0])
        assert found and int(found.group("limit")) == limit_kib, hr.describe(result)
        return "racert"
    assert warnings and result.returncode == 2 and GO_FATAL.search(result.stderr), hr.describe(result)
    assert result.stderr.index(warnings[0]) < GO_FATAL.search(result.stderr).start(), hr.describe(result)
    return "go"


def test_address_space_limit_too_small_says_what_how_much_and_what_to_do(racert_binary):
    """Also a warning at start: what is left after the data shadow (954 MiB) is
    less than Go's runtime reserves to start and grow its heap a little."""
    result = run([racert_binary, "-mode=race"], address_space_kib=1_000_000, timeout=30)
    assert result.stdout == "", hr.describe(result)
    assert check_limit_reached(result, 1_000_000) == "racert", hr.describe(result)
    assert len(result.stderr.splitlines()) <= 3, hr.describe(result)


@pytest.mark.parametrize("limit_kib", [4_000_000, 64_000_000])
def test_program_runs_under_an_address_space_limit(racert_binary, limit_kib):
    result = run([racert_binary, "-mode=race"], address_space_kib=limit_kib, timeout=60)
    assert result.returncode == 66, hr.describe(result)
    assert "hostile: done" in result.stdout, hr.describe(result)
    parsed = hr.parse_output(split_note(result, limit_kib))
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(result)


def test_many_readers_under_an_address_space_limit(racert_binary):
    """Cell sets from a reduced arena, heap shadow per arena: still no false report,
    and the real race is found."""
    result = run([racert_binary, "-mode=readers", f"-words={1 << 17}", "-goroutines=16", "-race-at-end"],
                 address_space_kib=8_000_000)
    assert result.returncode == 66, hr.describe(result)
    parsed = hr.parse_output(split_note(result, 8_000_000))
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(result)


def test_many_mutexes_under_an_address_space_limit(racert_binary):
    """Sync objects counted per page only in the heap window: no report, no crash."""
    result = run([racert_binary, "-mode=churn", "-n=50000", "-rounds=4"], address_space_kib=8_000_000)
    assert result.returncode == 0, hr.describe(result)
    assert split_note(result, 8_000_000) == "", hr.describe(result)


# ---- log_path on a full disk -----------------------------------------------------------


def run_with_full_disk(binary: Path, directory: Path, gorace: str) -> hr.ProgramRun:
    """Runs binary with <directory>/report.<pid> and <directory>/json.<pid> pointing
    at /dev/full: the shell creates the links for its own pid, then execs the binary
    (same pid)."""
    script = 'ln -s /dev/full "$1/report.$$" && ln -s /dev/full "$1/json.$$" && exec "$2" -mode=race'
    proc = subprocess.Popen(["sh", "-c", script, "sh", str(directory), str(binary)], env=hr.clean_env(gorace),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate(timeout=60)
    return hr.ProgramRun(proc.returncode, stdout, stderr, pid=proc.pid)


def test_report_to_full_disk_goes_to_stderr_with_a_warning(racert_binary, tmp_path):
    gorace = f"{FAST} log_path={tmp_path}/report json_path={tmp_path}/json"
    result = run_with_full_disk(racert_binary, tmp_path, gorace)
    assert result.returncode == 66, hr.describe(result)
    assert "hostile: done" in result.stdout, hr.describe(result)
    warnings = racert_lines(result.stderr)
    assert warnings == [
        f"racert: warning: cannot write to GORACE log_path file {tmp_path}/report.{result.pid} (fd 3): "
        "ENOSPC: no space left on the device (errno 28); this report and later ones go to stderr instead",
        f"racert: warning: cannot write to GORACE json_path file {tmp_path}/json.{result.pid} (fd 4): "
        "ENOSPC: no space left on the device (errno 28); no more JSON lines are written (the text reports are)",
    ], hr.describe(result)
    rest = "".join(line + "\n" for line in result.stderr.splitlines() if not line.startswith("racert:"))
    parsed = hr.parse_output(rest)
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(result)


def test_log_path_in_a_directory_that_cannot_exist(racert_binary):
    """The official object ends such a program at start ("ERROR: Can't create
    directory: /dev/null", exit 66, nothing run); racert warns and reports to stderr."""
    result = run([racert_binary, "-mode=race"], f"{FAST} log_path=/dev/null/sub/report")
    assert result.returncode == 66, hr.describe(result)
    assert "hostile: done" in result.stdout, hr.describe(result)
    warnings = racert_lines(result.stderr)
    assert len(warnings) == 1 and re.fullmatch(
        r"racert: warning: cannot open log_path=/dev/null/sub/report \(/dev/null/sub/report\.\d+, errno 20\); "
        r"writing to stderr instead", warnings[0]), hr.describe(result)
    parsed = hr.parse_output(result.stderr.split("\n", 1)[1])
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(result)


# ---- fork/exec ---------------------------------------------------------------------------


def test_fork_exec_from_a_racy_program(either_binary):
    result = run([either_binary, "-mode=forkexec"], timeout=120)
    assert result.returncode == 66, hr.describe(result)
    assert result.stdout.splitlines()[0] == (
        "hostile: child exit 66, child reports 1, child done true, true exit 0"), hr.describe(result)
    parsed = hr.parse_output(result.stderr)
    assert len(parsed.reports) == 2 and parsed.found == [2], hr.describe(result)


# ---- signals -------------------------------------------------------------------------------


def test_signal_storm_during_reports(either_binary, request):
    """racert prints all 300 reports under the storm. The official object
    sometimes drops some or all of them (0, 45, 89 and 95 of 300 seen, together
    about one run in eight); what is asserted for it is only that what it
    prints is well formed, counted, and matched by the exit status."""
    result = run([either_binary, "-mode=reports", "-n=300", "-signals"], f"{FAST} suppress_equal_stacks=0")
    assert result.stdout.startswith("hostile: 300 words written twice, signals sent true\n"), hr.describe(result)
    parsed = hr.parse_output(result.stderr)
    printed = len(parsed.reports)
    if "official" in request.node.callspec.id and printed == 0:
        assert result.returncode == 0 and parsed.found == [], hr.describe(result)
        return
    assert result.returncode == 66, hr.describe(result)
    assert parsed.found == [printed], hr.describe(result)
    if "official" not in request.node.callspec.id:
        assert printed == 300, hr.describe(result)


def signal_mid_reports(binary: Path, sig: int, args: list[str]) -> tuple[hr.ProgramRun, float]:
    """Starts 5000 reports, sends `sig` once 3 are out; returns the run and the
    seconds from the signal to the exit."""
    # The default disposition for the signal, whatever the suite inherited: a
    # suite started as a background job of a non-interactive shell has SIGINT
    # ignored, and Go keeps a signal ignored at start ignored.
    proc = subprocess.Popen([str(binary), "-mode=reports", "-n=5000", *args],
                            env=hr.clean_env(f"{FAST} suppress_equal_stacks=0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
    head = b""
    while head.count(b"WARNING: DATA RACE") < 3:
        chunk = os.read(proc.stderr.fileno(), 1 << 16)
        if not chunk:
            break
        head += chunk
    proc.send_signal(sig)
    sent = time.monotonic()
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the program did not exit within 60 s of the signal")
    result = hr.ProgramRun(proc.returncode, stdout.decode(), (head + stderr).decode(), pid=proc.pid)
    return result, time.monotonic() - sent


def test_exit_from_a_sigterm_handler_counts_every_printed_report(racert_binary):
    """os.Exit(0) in the handler while main writes reports: the summary line counts
    every report printed before it (reports started after it may follow, cut off
    by the exit)."""
    result, seconds = signal_mid_reports(racert_binary, signal.SIGTERM, ["-exit-on-term"])
    assert seconds < 10, hr.describe(result)
    assert result.returncode == 66, hr.describe(result)
    assert result.stdout.startswith("hostile: SIGTERM, exiting\n"), hr.describe(result)
    found = re.search(r"^Found (\d+) data race\(s\)$", result.stderr, re.MULTILINE)
    assert found, hr.describe(result)
    before_summary = result.stderr[: found.end() + 1]
    parsed = hr.parse_output(before_summary)
    assert parsed.found == [len(parsed.reports)], hr.describe(result)


def test_caught_sigint_does_not_disturb_reports(racert_binary):
    result, _ = signal_mid_reports(racert_binary, signal.SIGINT, ["-signals"])
    assert result.returncode == 66, hr.describe(result)
    parsed = hr.parse_output(result.stderr)
    assert len(parsed.reports) == 5000 and parsed.found == [5000], hr.describe(result)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_uncaught_signal_mid_reports_ends_the_program_at_once(racert_binary, sig):
    result, seconds = signal_mid_reports(racert_binary, sig, [])
    assert result.returncode == -sig, hr.describe(result)
    assert seconds < 10, hr.describe(result)


# ---- internal pools -------------------------------------------------------------------------

MUTEXES = 3_000_000 if LONG else 500_000
READ_WORDS = 1 << 20 if LONG else 1 << 18
READERS = 64


@pytest.fixture(scope="module")
def mutex_runs(racert_binary, official_binary) -> dict[str, hr.ProgramRun]:
    return {side: run([binary, "-mode=mutexes", f"-n={MUTEXES}"], timeout=900)
            for side, binary in (("racert", racert_binary), ("official", official_binary))}


def test_many_mutexes_alive(mutex_runs):
    result = mutex_runs["racert"]
    assert result.returncode == 0, hr.describe(result)
    assert result.stdout.startswith(f"hostile: {MUTEXES} mutexes, total {MUTEXES}\n"), hr.describe(result)
    assert result.stderr == "", hr.describe(result)
    # Bounded: at most 512 bytes per sync object (measured: under 200 with few
    # goroutines, whose sync clocks hold 8 entries) over a fixed base.
    assert peak_rss_bytes(result) < MUTEXES * 512 + 256 * MiB, hr.describe(result)


def test_many_mutexes_use_no_more_memory_than_the_official_object(mutex_runs):
    assert mutex_runs["official"].returncode == 0, hr.describe(mutex_runs["official"])
    assert peak_rss_bytes(mutex_runs["racert"]) <= peak_rss_bytes(mutex_runs["official"])


CHURN_MUTEXES, CHURN_SETTLED_ROUNDS, CHURN_ROUNDS = 100_000, 8, 15


def test_mutex_churn_memory_levels_off(racert_binary):
    """Rounds of mutexes, each round dropped and collected: the sync objects of freed
    mutexes are recycled, so memory stops growing. Measured with 100k mutexes: one
    round 46 MB (with small sync clocks; 107 MB for 50k before); 5, 8, 15, 30 rounds
    91, 116, 118, 119 MB (the official object: 84 MB flat). So 15 rounds stay within
    a tenth of 8 rounds, and below twice one round plus a fixed 64 MiB."""
    one = run([racert_binary, "-mode=mutexes", f"-n={CHURN_MUTEXES}"], timeout=600)
    runs = {rounds: run([racert_binary, "-mode=churn", f"-n={CHURN_MUTEXES}", f"-rounds={rounds}"], timeout=900)
            for rounds in (CHURN_SETTLED_ROUNDS, CHURN_ROUNDS)}
    for result in (one, *runs.values()):
        assert result.returncode == 0 and result.stderr == "", hr.describe(result)
    for rounds, result in runs.items():
        assert result.stdout.count(f"hostile: {CHURN_MUTEXES} mutexes, total {CHURN_MUTEXES}\n") == rounds
    settled, many = runs[CHURN_SETTLED_ROUNDS], runs[CHURN_ROUNDS]
    assert peak_rss_bytes(many) < 1.1 * peak_rss_bytes(settled), f"{hr.describe(settled)}\n{hr.describe(many)}"
    assert peak_rss_bytes(many) < 2 * peak_rss_bytes(one) + 64 * MiB, f"one round:\n{hr.describe(one)}\nchurn:\n{hr.describe(many)}"


def test_many_words_read_by_many_goroutines(racert_binary):
    result = run([racert_binary, "-mode=readers", f"-words={READ_WORDS}", f"-goroutines={READERS}"], timeout=900)
    assert result.returncode == 0, hr.describe(result)
    assert result.stdout.startswith(
        f"hostile: {READ_WORDS} words read by {READERS} goroutines, sums equal true\n"), hr.describe(result)
    assert result.stderr == "", hr.describe(result)
    # Every reader's cell is kept (no eviction): ~33 bytes per (word, reader) measured.
    assert peak_rss_bytes(result) < READ_WORDS * READERS * 48 + 256 * MiB, hr.describe(result)


def test_race_after_many_readers_is_still_reported(racert_binary):
    result = run([racert_binary, "-mode=readers", f"-words={1 << 16}", f"-goroutines={READERS}", "-race-at-end"])
    assert result.returncode == 66, hr.describe(result)
    parsed = hr.parse_output(result.stderr)
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(result)
    assert parsed.reports[0].current.kind == "write" and parsed.reports[0].previous.kind == "read", hr.describe(result)


# ---- a heap in pieces far apart, tens of GiB of it --------------------------------------------

FAR_HEAP = re.compile(
    r"^hostile: (?P<slices>\d+) slices of (?P<mib>\d+) MiB, first words (?P<first>\d+), guarded word 2000, race at "
    r"(?P<race>0x[0-9a-f]+)\n"
    r"hostile: heap in (?P<pieces>\d+) pieces (?P<ranges>.+): (?P<mapped>[\d.]+) GiB mapped, spanning "
    r"(?P<span>[\d.]+) GiB\n", re.MULTILINE)
# Hints left to the heap: the first piece at 0xc0<<32 stops at once, the next
# ones are 32 GiB apart, the last at the top of the window (0xdf<<32).
BIG_HEAP_HINTS = "8,16,24,31" if not LONG else "4,8,12,16,20,24,28,31"
BIG_HEAP_GIB = 12 if not LONG else 28
# The first piece, then 4 GiB (eight slices) per hint.
BIG_HEAP_PIECES = 1 + BIG_HEAP_GIB // 4
BIG_HEAP_ARGS = ["-mode=farheap", f"-gib={BIG_HEAP_GIB}", "-chunk-mib=512", f"-free-hints={BIG_HEAP_HINTS}"]


def check_far_heap_run(result: hr.ProgramRun, slices: int, min_pieces: int, min_span_gib: float) -> None:
    assert result.returncode == 66, hr.describe(result)
    found = FAR_HEAP.search(result.stdout)
    assert found, hr.describe(result)
    assert int(found.group("slices")) == slices and int(found.group("first")) == 4 * slices, hr.describe(result)
    assert int(found.group("pieces")) >= min_pieces and float(found.group("span")) >= min_span_gib, hr.describe(result)
    parsed = hr.parse_output("".join(line + "\n" for line in result.stderr.splitlines()
                                     if not line.startswith("racert:")))
    # Exactly the true race, in the farthest arena: the handed-over first words
    # of every slice, in every piece of the heap, and the word guarded by a
    # mutex in the farthest slice are no race.
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(result)
    report = parsed.reports[0]
    assert report.current.address == report.previous.address == int(found.group("race"), 16), hr.describe(result)
    assert report.current.address >= 0xc800000000, hr.describe(result)


def test_heap_arena_far_from_the_first_one(either_binary):
    """The heap jumps from 0xc000000000 to 0xdf00000000 (124 GiB up): the race
    in the far arena is found."""
    result = run([either_binary, "-mode=farheap"], timeout=60)
    check_far_heap_run(result, slices=2, min_pieces=2, min_span_gib=124)


@pytest.fixture(scope="module")
def big_heap_runs(racert_binary, official_binary) -> dict[str, hr.ProgramRun]:
    return {side: run([binary, *BIG_HEAP_ARGS], timeout=300)
            for side, binary in (("racert", racert_binary), ("official", official_binary))}


@pytest.mark.parametrize("side", ["racert", "official"])
def test_heap_of_tens_of_gib_in_pieces_far_apart(big_heap_runs, side):
    check_far_heap_run(big_heap_runs[side], slices=BIG_HEAP_GIB * 2, min_pieces=BIG_HEAP_PIECES, min_span_gib=100)


def test_heap_grown_past_the_race_window(racert_binary):
    """Go keeps the start of each arena hint inside [0xc000000000, 0xe000000000)
    but lets the last one grow past its end: 130 GiB in 512 MiB slices ends at
    0xe180000000. racert shadows it and finds the race there; the official
    object (Go 1.26) loses that race silently (exit 0, no report)."""
    hints = ",".join(str(i) for i in range(1, 32))
    result = run([racert_binary, "-mode=farheap", "-gib=130", "-chunk-mib=512", f"-free-hints={hints}"], timeout=120)
    check_far_heap_run(result, slices=260, min_pieces=2, min_span_gib=130)
    assert int(FAR_HEAP.search(result.stdout).group("race"), 16) >= 0xe000000000, hr.describe(result)


def test_heap_grown_past_the_race_window_under_a_limit_above_the_default_reservations(racert_binary):
    """ulimit -v 600000000 KiB is above the ~460 GiB racert reserves by default,
    so no note and the whole window's shadow at once; but 130 GiB of heap count
    too. Before, the 64 GiB cell-set arena, reserved at its first use after the
    heap had grown, no longer fitted: FATAL after the report. Now the arena is
    mapped as needed under any limit, and the run completes. 6 GiB from the last hint (0xdf00000000) already end at 0xe080000000: the official object misses the race at 0xe07ffffff8 (exit 0, also under a 40 GB limit); racert finds it, also under that limit with shadow per arena."""
    hints = ",".join(str(i) for i in range(1, 32))
    result = run([racert_binary, "-mode=farheap", "-gib=130", "-chunk-mib=512", f"-free-hints={hints}"],
                 address_space_kib=600_000_000, timeout=120)
    assert racert_lines(result.stderr) == [], hr.describe(result)
    check_far_heap_run(result, slices=260, min_pieces=2, min_span_gib=130)


def test_heap_past_the_race_window_with_shadow_per_arena(racert_binary):
    """6 GiB from the last hint (0xdf00000000) end at 0xe080000000; under a 40 GB
    limit racert shadows per arena, past the window too, and counts sync
    objects only inside it (the mutex in the last slice is looked up): the
    race is found, nothing else."""
    result = run([racert_binary, "-mode=farheap", "-gib=6", "-chunk-mib=512", "-free-hints=31"],
                 address_space_kib=40_000_000, timeout=120)
    split_note(result, 40_000_000)
    check_far_heap_run(result, slices=12, min_pieces=2, min_span_gib=130)
    assert int(FAR_HEAP.search(result.stdout).group("race"), 16) >= 0xe000000000, hr.describe(result)


REUSE_ROUNDS, REUSE_MIB = (24, 256) if LONG else (12, 64)
REUSE = re.compile(r"^hostile: (?P<rounds>\d+) rounds of (?P<mib>\d+) MiB, (?P<kept>\d+) kept, (?P<distinct>\d+) "
                   r"distinct addresses, race at (?P<race>0x[0-9a-f]+)\n", re.MULTILINE)


def test_big_slices_freed_and_reused_forget_earlier_writers(either_binary):
    """Slices written by goroutines nothing orders with main, most dropped and
    collected, their memory reused for slices main writes at the same words:
    no report but the one true race (with big-range clearing switched off,
    racert printed 10 false ones)."""
    result = run([either_binary, "-mode=reuse", f"-rounds={REUSE_ROUNDS}", f"-chunk-mib={REUSE_MIB}"], timeout=300)
    assert result.returncode == 66, hr.describe(result)
    found = REUSE.search(result.stdout)
    assert found, hr.describe(result)
    # Two slices per round; far fewer addresses: memory was reused.
    assert int(found.group("distinct")) <= REUSE_ROUNDS, hr.describe(result)
    parsed = hr.parse_output(result.stderr)
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(result)
    assert parsed.reports[0].current.address == int(found.group("race"), 16), hr.describe(result)


def test_big_allocations_cost_no_time_per_untouched_byte(big_heap_runs):
    """Go reports each allocation and free to the runtime. Clearing the shadow of
    a 512 MiB slice word by word took racert 4.6 s for 12 GiB (the official
    object: 0.03 s for the whole run); only shadow pages ever written are read
    now (0.03 s)."""
    racert, official = big_heap_runs["racert"], big_heap_runs["official"]
    assert racert.elapsed_s < 10 * official.elapsed_s + 1.5, f"{hr.describe(racert)}\n{hr.describe(official)}"


@pytest.mark.parametrize("limit_kib", [20_000_000, 40_000_000])
def test_heap_of_tens_of_gib_over_the_address_space_limit(racert_binary, limit_kib):
    """12 GiB of heap needs a limit of ~50 GiB with racert (4 bytes of address
    space per heap byte; the official object ~44 GiB): below that, a precise
    stop."""
    result = run([racert_binary, *BIG_HEAP_ARGS], address_space_kib=limit_kib, timeout=120)
    check_limit_reached(result, limit_kib)


def test_heap_of_tens_of_gib_under_a_large_enough_limit(racert_binary):
    limit_kib = 4 * BIG_HEAP_GIB * (1 << 20) + 16_000_000
    result = run([racert_binary, *BIG_HEAP_ARGS], address_space_kib=limit_kib, timeout=120)
    assert all(LIMIT_WARNING.fullmatch(line) for line in racert_lines(split_note(result, limit_kib))), \
        hr.describe(result)
    check_far_heap_run(result, slices=BIG_HEAP_GIB * 2, min_pieces=BIG_HEAP_PIECES, min_span_gib=100)


def test_far_heap_arena_under_an_address_space_limit(racert_binary):
    """Heap shadow mapped per arena: the far arena gets its own."""
    result = run([racert_binary, "-mode=farheap"], address_space_kib=4_000_000, timeout=60)
    split_note(result, 4_000_000)
    check_far_heap_run(result, slices=2, min_pieces=2, min_span_gib=124)


# ---- data and bss of a very large binary ---------------------------------------------------------

BIG_DATA = re.compile(r"^bigdata: middle 2, table 11\nbigdata: bss array \[(?P<begin>0x[0-9a-f]+), "
                      r"(?P<end>0x[0-9a-f]+)\), 1792 MiB, race at (?P<race>0x[0-9a-f]+)\n", re.MULTILINE)


def check_big_data_run(result: hr.ProgramRun) -> None:
    assert result.returncode == 66, hr.describe(result)
    found = BIG_DATA.search(result.stdout)
    assert found, hr.describe(result)
    parsed = hr.parse_output("".join(line + "\n" for line in result.stderr.splitlines()
                                     if not line.startswith("racert:")))
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(result)
    report = parsed.reports[0]
    assert report.current.address == report.previous.address == int(found.group("race"), 16), hr.describe(result)
    assert int(found.group("end"), 16) - report.current.address == 1, hr.describe(result)


@pytest.mark.parametrize("side", ["racert", "official"])
def test_race_at_the_end_of_a_huge_bss(big_data_binaries, side):
    check_big_data_run(run([big_data_binaries[side]], timeout=60))


DATA_START_FATAL = re.compile(
    r"racert: FATAL: the address-space limit \(ulimit -v\) of (?P<limit>\d+) KiB leaves \d+ MiB after the "
    r"program's data and bss \[0x[0-9a-f]+, 0x[0-9a-f]+\) \((?P<data_mib>\d+) MiB\) and their shadow \(3 bytes "
    r"per byte, \d+ MiB\): Go's runtime reserves at least 850 MiB more to start \(page summaries, its first 64 MiB "
    r"heap arena and that arena's shadow\); raise the limit above (?P<above>\d+) KiB, plus 4 bytes per byte of heap "
    r"the program uses, or lift it \(ulimit -v unlimited\)")


def test_huge_bss_over_the_address_space_limit(big_data_binaries):
    """The bss's own shadow does not fit: the mapping that failed, its size, the
    limit and the remedy."""
    result = run([big_data_binaries["racert"]], address_space_kib=4_000_000, timeout=60)
    assert check_limit_reached(result, 4_000_000) == "racert", hr.describe(result)
    assert "for application range" in result.stderr, hr.describe(result)


def test_huge_bss_leaves_go_too_little_to_start(big_data_binaries):
    """The bss's shadow fits, but what is left cannot hold what Go reserves at
    start: stopped right after the data shadow, with the figures (before, Go
    stopped on its own: "too many address space collisions for -race mode")."""
    result = run([big_data_binaries["racert"]], address_space_kib=8_000_000, timeout=60)
    assert check_limit_reached(result, 8_000_000, DATA_START_FATAL) == "racert", hr.describe(result)
    found = DATA_START_FATAL.search(result.stderr)
    assert int(found.group("data_mib")) == 1796 and int(found.group("above")) > 8_000_000, hr.describe(result)


def test_huge_bss_under_a_large_enough_limit(big_data_binaries):
    result = run([big_data_binaries["racert"]], address_space_kib=10_500_000, timeout=60)
    split_note(result, 10_500_000)
    check_big_data_run(result)

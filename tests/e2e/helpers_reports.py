"""Shared machinery for the race report and GORACE end-to-end tests.

Used by test_gorace_options.py, test_json_reports.py and test_report_content.py:

* ``GoBuilds`` builds the Go programs of tests/e2e/fixtures/reports once per session and
  toolchain (``racert go build -race`` / ``go test -race -c`` through
  helpers_go, so racert is invoked the one way the e2e tests agree on).
* ``run_program`` runs a race binary with a scrubbed environment and a given
  GORACE, and records its pid (for ``<log_path>.<pid>``) and wall time.
* ``parse_output`` is a strict parser of Go's race report text (docs/go-race-abi-notes.md §13.1):
  anything between a report's ``==================`` lines that is not exactly
  the expected shape raises ``ReportFormatError``, so "the report is
  well-formed" is checked by parsing it.
* ``line_of`` finds the line of a ``// LINE:<name>`` marker in a Go source, so
  the tests never hard-code line numbers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import helpers_go as hg

REPORTS_DIR = hg.FIXTURES_DIR / "reports"

# Variables that would change the programs' behaviour behind a test's back.
_SCRUBBED_ENV = ("GORACE", "GOMAXPROCS", "GODEBUG", "GOTRACEBACK", "GOROOT", "GOCACHE", "GOFLAGS", "RACERT_GO")

RUN_TIMEOUT_S = 120


# ---- toolchains ---------------------------------------------------------------


def toolchain_params(with_releases: bool = False) -> list:
    """pytest params: the machine's go, and Debian's Go 1.23 (skipped if absent);
    with_releases adds the oldest and newest real releases of the version matrix
    (Go 1.19 and 1.27 from the module cache), whose reports differ from the others'
    in known ways (docs/go-race-abi-notes.md).

    A toolchain that is missing is listed anyway, as a skip, so that its absence
    shows up in the test summary rather than as silently fewer tests.
    """
    toolchains = hg.discover_toolchains()
    params = [pytest.param(t, id=t.id) for t in toolchains]
    if not any(t.go == str(hg.DEBIAN_GO_1_23) for t in toolchains):
        params.append(
            pytest.param(None, id="go1.23", marks=pytest.mark.skip(reason=f"{hg.DEBIAN_GO_1_23} not installed"))
        )
    if with_releases:
        for release, toolchain in hg.release_toolchains("edges"):
            if toolchain is None:
                params.append(pytest.param(None, id=f"release-go{release}", marks=pytest.mark.skip(
                    reason=f"Go {release} not fetched (scripts/ensure_toolchain.sh)")))
            else:
                params.append(pytest.param(toolchain, id=f"release-{toolchain.id}"))
    return params


def go_statement_wrapper(function: str, index: int, go_version: str) -> str:
    """The frame name of the wrapper the compiler makes for the index-th `go f(args)`
    statement of `function`: `<function>.gowrapN` since Go 1.22, a closure named
    `<function>.funcN` before, numbered together with the function's other closures
    (every program here has no closure before its go statement, so N is the same)."""
    return f"{function}.gowrap{index}" if hg.go_minor(go_version) >= 22 else f"{function}.func{index}"


# ---- building -----------------------------------------------------------------


def program_dir(name: str) -> Path:
    return REPORTS_DIR / name


def program_source(name: str) -> Path:
    """The one .go file of a report program."""
    files = sorted(program_dir(name).glob("*.go"))
    if len(files) != 1:
        raise FileNotFoundError(f"expected exactly one .go file in {program_dir(name)}, found {files}")
    return files[0]


class BuildError(RuntimeError):
    pass


def real_goroot(toolchain: hg.Toolchain) -> Path:
    """The toolchain's own GOROOT (not racert's view)."""
    proc = subprocess.run(
        [toolchain.go or "go", "env", "GOROOT"],
        env=clean_env(None, {"GOTOOLCHAIN": "local"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return Path(proc.stdout.strip())


def goroot_has_official_object(goroot: Path) -> bool:
    """True if ``racert status`` calls every race object location of goroot official."""
    proc = subprocess.run(
        [str(hg.require_racert_cli()), "status", "--goroot", str(goroot), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        return False
    states = [location["state"] for location in json.loads(proc.stdout)["locations"]]
    return bool(states) and all(state == "official" for state in states)


class GoBuilds:
    """Race binaries built once per session, keyed by (toolchain, what).

    A failed build is remembered too, so every test that needs it fails with
    the compiler's output instead of rebuilding.
    """

    def __init__(self, out_dir: Path):
        self._out_dir = out_dir
        self._results: dict[tuple[str, str], Path | BuildError] = {}
        self._lock = threading.Lock()

    def _cached(self, key: tuple[str, str], build: Callable[[], Path]) -> Path:
        with self._lock:
            if key not in self._results:
                try:
                    self._results[key] = build()
                except BuildError as error:
                    self._results[key] = error
            result = self._results[key]
        if isinstance(result, BuildError):
            raise result
        return result

    def _go(self, toolchain: hg.Toolchain, args: list[str], what: str) -> None:
        proc = hg.racert_go(toolchain, args)
        if proc.returncode != 0:
            raise BuildError(f"building {what} with {toolchain.id} failed:\n{proc.stdout}{proc.stderr}")

    def program(self, toolchain: hg.Toolchain, name: str) -> Path:
        """tests/e2e/fixtures/reports/<name>/main.go built with -race."""

        def build() -> Path:
            output = self._out_dir / toolchain.id / name
            output.parent.mkdir(parents=True, exist_ok=True)
            self._go(toolchain, ["build", "-race", "-o", str(output), str(program_source(name))], name)
            return output

        return self._cached((toolchain.id, name), build)

    def test_binary(self, toolchain: hg.Toolchain, name: str) -> Path:
        """tests/e2e/fixtures/reports/<name>/*_test.go built with ``go test -race -c``."""

        def build() -> Path:
            output = self._out_dir / toolchain.id / f"{name}.test"
            output.parent.mkdir(parents=True, exist_ok=True)
            self._go(toolchain, ["test", "-race", "-c", "-o", str(output), str(program_source(name))], name)
            return output

        return self._cached((toolchain.id, f"{name}.test"), build)

    def copy_and_build(
        self,
        toolchain: hg.Toolchain,
        name: str,
        key: str,
        source_dir_name: str,
        edit: Callable[[str], str] | None = None,
    ) -> tuple[Path, Path]:
        """Copy program `name` to <tmp>/<toolchain>/<key>/<source_dir_name>/main.go
        (after `edit`, if given), build it there; returns (binary, source)."""
        source = self._out_dir / toolchain.id / key / source_dir_name / "main.go"

        def build() -> Path:
            source.parent.mkdir(parents=True, exist_ok=True)
            text = program_source(name).read_text()
            source.write_text(edit(text) if edit else text)
            output = self._out_dir / toolchain.id / key / "binary"
            self._go(toolchain, ["build", "-race", "-o", str(output), str(source)], f"{name} ({key})")
            return output

        return self._cached((toolchain.id, key), build), source


    def official_program(self, toolchain: hg.Toolchain, name: str) -> Path:
        """tests/e2e/fixtures/reports/<name> built by plain ``go build -race`` against the
        toolchain's own GOROOT, i.e. with Go's official race object: the oracle
        for "same report format". Skips the test if that GOROOT's object is not
        the official one (e.g. after ``racert install``)."""
        return self._cached(
            (toolchain.id, f"official/{name}"),
            lambda: self.official_source(toolchain, program_source(name), self._out_dir / toolchain.id / "official" / name),
        )

    def official_source(self, toolchain: hg.Toolchain, source: Path, output: Path) -> Path:
        """One Go file built by plain ``go build -race`` against the toolchain's own
        GOROOT (uncached); skips the test if that GOROOT's object is not the official one."""
        goroot = real_goroot(toolchain)
        if not goroot_has_official_object(goroot):
            pytest.skip(f"{goroot} does not hold Go's official race object")
        output.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [toolchain.go or "go", "build", "-race", "-o", str(output), str(source)],
            cwd=str(hg.REPO_ROOT),
            env=clean_env(None, {"GOTOOLCHAIN": "local"}),
            capture_output=True,
            text=True,
            timeout=hg.BUILD_TIMEOUT_S,
        )
        if proc.returncode != 0:
            raise BuildError(f"official build of {source} with {toolchain.id} failed:\n{proc.stdout}{proc.stderr}")
        return output

    def build_source(self, toolchain: hg.Toolchain, source: Path, output: Path) -> Path:
        """Build one Go file (uncached: for callers that manage their own sources)."""
        output.parent.mkdir(parents=True, exist_ok=True)
        self._go(toolchain, ["build", "-race", "-o", str(output), str(source)], str(source))
        return output

    @property
    def out_dir(self) -> Path:
        return self._out_dir


_SESSION_BUILDS: GoBuilds | None = None


def session_builds(tmp_path_factory) -> GoBuilds:
    """The one GoBuilds of this pytest session, shared by every report test module
    (a fixture imported into several modules would be instantiated per module)."""
    global _SESSION_BUILDS
    if _SESSION_BUILDS is None:
        _SESSION_BUILDS = GoBuilds(tmp_path_factory.mktemp("report-programs"))
    return _SESSION_BUILDS


def replace_once(text: str, old: str, new: str) -> str:
    """text with the single occurrence of `old` replaced (an edit that must apply)."""
    if text.count(old) != 1:
        raise ValueError(f"expected exactly one {old!r} in the source, found {text.count(old)}")
    return text.replace(old, new)


# ---- running ------------------------------------------------------------------


@dataclass
class ProgramRun(hg.Run):
    pid: int = 0
    elapsed_s: float = 0.0
    go_version: str = ""  # the Go release the binary was built with, e.g. "go1.19.13"


def clean_env(gorace: str | None, env_extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    if gorace is not None:
        env["GORACE"] = gorace
    if env_extra:
        env.update(env_extra)
    return env


def run_program(
    binary: Path,
    gorace: str | None = "atexit_sleep_ms=0",
    *,
    args: tuple[str, ...] | list[str] = (),
    env_extra: dict[str, str] | None = None,
    merge_stderr: bool = False,
    cwd: Path | None = None,
    timeout: float = RUN_TIMEOUT_S,
) -> ProgramRun:
    """Run a race binary; GORACE=None leaves GORACE unset (the defaults).

    The umask is 022, the condition under which the official runtime's log
    file mode (0640) is specified. With merge_stderr, stderr goes into the
    stdout pipe so the relative order of the two streams is kept.
    """
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(binary), *args],
        env=clean_env(gorace, env_extra),
        cwd=str(cwd) if cwd else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        umask=0o022,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise AssertionError(f"{binary.name} did not finish within {timeout} s:\n{stdout}\n{stderr}")
    elapsed = time.monotonic() - started
    return ProgramRun(proc.returncode, stdout, stderr or "", pid=proc.pid, elapsed_s=elapsed,
                      go_version=hg.binary_go_version(binary))


# ---- Go sources ---------------------------------------------------------------


def line_of(source: Path, marker: str) -> int:
    """1-based line of the unique ``// LINE:<marker>`` comment in `source`."""
    pattern = re.compile(rf"//\s*LINE:{re.escape(marker)}\s*$")
    hits = [n for n, line in enumerate(source.read_text().splitlines(), 1) if pattern.search(line)]
    if len(hits) != 1:
        raise ValueError(f"marker LINE:{marker} found {len(hits)} times in {source}")
    return hits[0]


# ---- report text parsing ------------------------------------------------------

SEPARATOR = "=================="
HEADER = "WARNING: DATA RACE"
FAILED_STACK = "  [failed to restore the stack]"

_ACCESS_RE = re.compile(
    r"^(?P<kind>Read|Write|Previous read|Previous write) at 0x(?P<addr>[0-9a-f]{12,}) by "
    r"(?:(?P<main>main goroutine)|goroutine (?P<number>[0-9]+)|(?P<unknown>unknown goroutine)):$"
)
_FUNCTION_RE = re.compile(r"^  (?P<function>\S.*)\(\)$")
_LOCATION_RE = re.compile(r"^      (?P<file>\S.*):(?P<line>[0-9]+) \+0x(?P<offset>[0-9a-f]+)$")
_GOROUTINE_RE = re.compile(r"^Goroutine (?P<number>[0-9]+) \((?P<state>running|finished)\) created at:$")
_FOUND_RE = re.compile(r"^Found (?P<count>[0-9]+) data race\(s\)$")


class ReportFormatError(AssertionError):
    pass


@dataclass(frozen=True)
class Frame:
    function: str
    file: str
    line: int
    offset: int

    @property
    def location(self) -> tuple[str, str, int]:
        """What identifies the source location (not the code offset)."""
        return (self.function, self.file, self.line)


@dataclass
class Access:
    kind: str  # "read" or "write"
    address: int
    goroutine: int | None  # 1 for "main goroutine", None for "unknown goroutine"
    frames: list[Frame] | None  # None: "[failed to restore the stack]"

    @property
    def locations(self) -> list[tuple[str, str, int]]:
        return [f.location for f in self.frames or []]

    @property
    def functions(self) -> list[str]:
        return [f.function for f in self.frames or []]


@dataclass
class GoroutineBlock:
    number: int
    state: str  # "running" or "finished"
    created_at: list[Frame] | None


@dataclass
class TextReport:
    current: Access
    previous: Access
    goroutines: list[GoroutineBlock]
    text: str

    def block_of(self, number: int) -> GoroutineBlock:
        found = [g for g in self.goroutines if g.number == number]
        if len(found) != 1:
            raise KeyError(f"{len(found)} 'Goroutine {number}' blocks in:\n{self.text}")
        return found[0]

    @property
    def stack_pair(self) -> frozenset:
        """The two stacks as source locations, regardless of which came first."""
        return frozenset({tuple(self.current.locations), tuple(self.previous.locations)})


@dataclass
class ParsedOutput:
    reports: list[TextReport]
    found: list[int] = field(default_factory=list)  # counts of "Found N data race(s)" lines
    other_lines: list[str] = field(default_factory=list)  # everything else, in order


class _Lines:
    def __init__(self, lines: list[str], start: int):
        self.lines = lines
        self.index = start
        self.start = start

    def peek(self) -> str | None:
        return self.lines[self.index] if self.index < len(self.lines) else None

    def take(self) -> str:
        line = self.peek()
        if line is None:
            self.fail("the output ends inside a report")
        self.index += 1
        return line

    def fail(self, why: str):
        shown = "\n".join(self.lines[self.start : min(self.index + 3, len(self.lines))])
        raise ReportFormatError(f"malformed race report (line {self.index + 1}): {why}\n--- report ---\n{shown}")


def _parse_frames(cursor: _Lines) -> list[Frame] | None:
    """Frames until the next blank line or separator; None for a lost stack."""
    if cursor.peek() == FAILED_STACK:
        cursor.take()
        return None
    frames = []
    while True:
        line = cursor.peek()
        if line is None or line == "" or line == SEPARATOR:
            break
        function = _FUNCTION_RE.match(cursor.take())
        if not function:
            cursor.fail(f"expected a frame function line, got {line!r}")
        location_line = cursor.take()
        location = _LOCATION_RE.match(location_line)
        if not location:
            cursor.fail(f"expected a frame location line, got {location_line!r}")
        frames.append(
            Frame(
                function.group("function"),
                location.group("file"),
                int(location.group("line")),
                int(location.group("offset"), 16),
            )
        )
    if not frames:
        cursor.fail("a stack with no frames and no '[failed to restore the stack]'")
    return frames


def _parse_access(cursor: _Lines, previous: bool) -> Access:
    line = cursor.take()
    match = _ACCESS_RE.match(line)
    if not match:
        cursor.fail(f"expected an access line, got {line!r}")
    kind = match.group("kind")
    if kind.startswith("Previous") != previous:
        cursor.fail(f"access line {line!r} in the wrong place")
    if match.group("main"):
        goroutine = 1
    elif match.group("number"):
        goroutine = int(match.group("number"))
        if goroutine == 1:
            cursor.fail("goroutine 1 must be printed as 'main goroutine'")
    else:
        goroutine = None
    return Access(kind.split()[-1].lower(), int(match.group("addr"), 16), goroutine, _parse_frames(cursor))


def _parse_report(cursor: _Lines) -> TextReport:
    start = cursor.index
    if cursor.take() != SEPARATOR or cursor.take() != HEADER:
        cursor.fail("a report must start with the separator and 'WARNING: DATA RACE'")
    current = _parse_access(cursor, previous=False)
    if cursor.take() != "":
        cursor.fail("expected a blank line after the current access's stack")
    previous = _parse_access(cursor, previous=True)
    goroutines = []
    while True:
        line = cursor.take()
        if line == SEPARATOR:
            break
        if line != "":
            cursor.fail(f"expected a blank line or the closing separator, got {line!r}")
        header = cursor.take()
        match = _GOROUTINE_RE.match(header)
        if not match:
            cursor.fail(f"expected 'Goroutine N (state) created at:', got {header!r}")
        goroutines.append(GoroutineBlock(int(match.group("number")), match.group("state"), _parse_frames(cursor)))
    text = "\n".join(cursor.lines[start : cursor.index]) + "\n"
    return TextReport(current, previous, goroutines, text)


def parse_output(output: str) -> ParsedOutput:
    """Split program output into race reports, Found lines and other lines.

    Every "WARNING: DATA RACE" must belong to a well-formed report; so must
    every separator line (a stray one means a report was cut or interleaved).
    """
    lines = output.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    parsed = ParsedOutput(reports=[])
    index = 0
    while index < len(lines):
        line = lines[index]
        if line == SEPARATOR:
            cursor = _Lines(lines, index)
            parsed.reports.append(_parse_report(cursor))
            index = cursor.index
            continue
        if HEADER in line or SEPARATOR in line:
            raise ReportFormatError(f"report text outside a well-formed report (line {index + 1}): {line!r}")
        found = _FOUND_RE.match(line)
        if found:
            parsed.found.append(int(found.group("count")))
        else:
            parsed.other_lines.append(line)
        index += 1
    return parsed


def expected_frame_locations(source: Path, *pairs: tuple[str, str]) -> list[tuple[str, str, int]]:
    """[(function, marker), ...] → [(function, file, line), ...] for `source`."""
    return [(function, str(source), line_of(source, marker)) for function, marker in pairs]


# ---- expectations shared by several test files ----------------------------------


def simple_stacks(source: Path, go_version: str) -> frozenset:
    """The two stacks of tests/e2e/fixtures/reports/simple's race, as a stack_pair, for a
    binary built with Go release `go_version`."""
    racer_side = expected_frame_locations(
        source,
        ("main.store", "store"),
        ("main.racer", "racer_calls_store"),
        (go_statement_wrapper("main.startRacer", 1, go_version), "start_racer_go"),
    )
    main_side = expected_frame_locations(source, ("main.store", "store"), ("main.main", "main_calls_store"))
    return frozenset({tuple(racer_side), tuple(main_side)})


def describe(run: ProgramRun) -> str:
    return f"pid {run.pid}, {run.elapsed_s:.2f} s, {run.describe()}"

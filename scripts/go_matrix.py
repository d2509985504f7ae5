#!/usr/bin/env python3
"""The Go version matrix: racert on real toolchains of every supported Go release.

    scripts/go_matrix.py                 every release of scripts/go_releases.txt
    scripts/go_matrix.py --ci            the releases marked "ci" (oldest, middle, newest)
    scripts/go_matrix.py --releases 1.19.13,1.27.4
    options: --object FILE   the race object (default: racert's, build/race_linux.syso)
             --no-official   skip the runtime/race run with Go's own object
             --log-dir DIR   where logs and results.json go (default build/go-matrix)
             --markdown FILE also write the table to FILE

Each release is fetched through scripts/go_release.sh (the Go module proxy, into the
module cache) and then, in this order:
  1. entry points  `racert status`: the object exports every __tsan_* entry point the
                   release's runtime sources reference
  2. runtime/race  `go test -race -count=1 -v runtime/race` through racert
                   (scripts/run_go_race_suite.sh): TestRace's "Passed N of M", TestOutput,
                   every other top-level test
  3. official      the same suite with the release's own object, same GOCACHE (cmd/go keys
                   the cache on file contents, so std is compiled once for both); a test
                   that fails with racert counts as matching only if it fails with the
                   official object too, and TestRace must list as many cases as there
  4. programs      every tests/e2e/fixtures/programs/* built with `racert go build -race`, internal
                   and external linking, run: exit 0, "OK <name>", no race report
  5. install       a copy of the release's tree: status says official, `racert install`,
                   status says racert, the copy's own go builds tests/e2e/fixtures/demo/racy with
                   -race and the binary runs racert (its banner, a race report, exit 66,
                   no symbol of the official object), `racert uninstall`, and every file
                   in the race directories is byte for byte what it was

Prints one table (Markdown) and exits 0 only if every release passes every step.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "e2e"))
sys.path.insert(0, str(REPO_ROOT / "tools"))

import helpers_go as hg  # noqa: E402  (how the e2e tests run racert; one place for it)
from racert_cli import elf  # noqa: E402

RACERT = REPO_ROOT / "racert"
GO_RELEASE = REPO_ROOT / "scripts" / "go_release.sh"
SUITE_SCRIPT = REPO_ROOT / "scripts" / "run_go_race_suite.sh"
DEMO = hg.RACY_DEMO_DIR / "main.go"
SUITE_TIMEOUT_S = 1800
BUILD_WORKERS = 2
RACE_DIRECTORIES = ("src/runtime/race", "src/runtime/race/internal/amd64v1", "src/runtime/race/internal/amd64v3")
RACERT_BANNER = "***** Running under racert"
OFFICIAL_SYMBOL_PREFIX = "_ZN11__sanitizer"

# Variables that would steer racert or go away from what the matrix sets up.
_SCRUBBED = ("RACERT_GO", "RACERT_VIEW_LINKS", "GOROOT", "GOCACHE", "GOFLAGS", "GORACE", "GOOS", "GOARCH",
             "GOAMD64", "GOMAXPROCS", "GODEBUG")


def log(message: str) -> None:
    print(f"go_matrix: {message}", file=sys.stderr, flush=True)


def clean_env(**overrides: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in _SCRUBBED}
    environment["GOTOOLCHAIN"] = "local"
    environment.update(overrides)
    return environment


# ---------------------------------------------------------------- runtime/race logs

@dataclass
class SuiteResult:
    exit_status: int
    log_path: str
    passed: int | None = None  # TestRace "Passed N of M (P%, F+, F-)"
    total: int | None = None
    false_positives: int | None = None
    false_negatives: int | None = None
    skipped_cases: int = 0  # TestRace cases marked SKIPPED (newer releases skip a few)
    failed_cases: list[str] = field(default_factory=list)  # TestRace cases FAILED or FAILED+
    top_level: dict[str, str] = field(default_factory=dict)  # test -> PASS/FAIL/SKIP
    fatal_errors: int = 0

    @property
    def listed(self) -> int | None:
        return None if self.total is None else self.total + self.skipped_cases

    def testrace_text(self) -> str:
        if self.total is None:
            return "no summary"
        text = f"{self.passed}/{self.total}"
        if self.false_positives or self.false_negatives:
            text += f" ({self.false_positives}+, {self.false_negatives}-)"
        if self.skipped_cases:
            text += f", {self.skipped_cases} skipped"
        return text

    def others(self) -> dict[str, str]:
        return {name: verdict for name, verdict in self.top_level.items() if name not in ("TestRace", "TestOutput")}


def parse_suite_log(text: str, exit_status: int, log_path: str) -> SuiteResult:
    result = SuiteResult(exit_status=exit_status, log_path=log_path)
    totals = re.search(r"^Passed (\d+) of (\d+) tests \([\d.]+%, (\d+)\+, (\d+)-\)$", text, re.MULTILINE)
    if totals:
        result.passed, result.total, result.false_positives, result.false_negatives = map(int, totals.groups())
    result.skipped_cases = len(re.findall(r"^\S+ +SKIPPED$", text, re.MULTILINE))
    result.failed_cases = re.findall(r"^(\S+) +FAILED\+?$", text, re.MULTILINE)
    for verdict, name in re.findall(r"^--- (PASS|FAIL|SKIP): (\w+) \(", text, re.MULTILINE):
        result.top_level[name] = verdict
    result.fatal_errors = len(re.findall(r"fatal error:(?! concurrent map)", text))
    return result


def run_racert_suite(goroot: Path, log_dir: Path, environment: dict[str, str]) -> SuiteResult:
    log_dir.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [str(SUITE_SCRIPT), "--go", str(goroot / "bin" / "go"), "--log-dir", str(log_dir)],
        cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S)
    found = re.search(r"^== full log: (\S+)", completed.stdout, re.MULTILINE)
    if not found:
        raise StepError(f"run_go_race_suite.sh printed no log path:\n{completed.stdout}{completed.stderr}")
    log_path = Path(found.group(1))
    text = log_path.read_text(errors="replace") if log_path.is_file() else ""
    return parse_suite_log(text, completed.returncode, str(log_path))


def run_official_suite(goroot: Path, gocache: str, log_dir: Path) -> SuiteResult:
    """The same suite with the release's own (official) object: the real GOROOT, read only."""
    log_dir.mkdir(parents=True, exist_ok=True)
    version = (goroot / "VERSION").read_text().splitlines()[0]
    log_path = log_dir / f"{version}.log"
    with open(log_path, "w") as stream:
        completed = subprocess.run(
            [str(goroot / "bin" / "go"), "test", "-race", "-count=1", "-v", "runtime/race"],
            cwd=REPO_ROOT, stdout=stream, stderr=subprocess.STDOUT, timeout=SUITE_TIMEOUT_S,
            env=clean_env(GOCACHE=gocache, PATH=f"{goroot / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"))
    return parse_suite_log(log_path.read_text(errors="replace"), completed.returncode, str(log_path))


# ---------------------------------------------------------------- matrix rows

class StepError(Exception):
    pass


@dataclass
class Row:
    version: str
    goroot: str = ""
    entry_points: str = ""
    racert: SuiteResult | None = None
    official: SuiteResult | None = None
    programs: dict[str, str] = field(default_factory=dict)  # link mode -> "11/11" (+ failures)
    program_failures: list[str] = field(default_factory=list)
    install: str = ""
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def judge_suite(row: Row) -> None:
    """Adds a problem for every runtime/race result of racert's that the official object
    does not share."""
    ours, theirs = row.racert, row.official
    if ours is None:
        return
    if ours.total is None:
        row.problems.append("TestRace printed no summary with racert")
    else:
        # A case racert gets wrong is acceptable only if the official object gets it wrong too.
        unshared = sorted(set(ours.failed_cases) - set(theirs.failed_cases if theirs else []))
        if unshared:
            row.problems.append(f"TestRace: racert passed {ours.passed} of {ours.total} "
                                f"({ours.false_positives}+, {ours.false_negatives}-): {', '.join(unshared[:20])}")
    if theirs is not None and theirs.listed is not None and ours.listed != theirs.listed:
        row.problems.append(f"TestRace listed {ours.listed} cases with racert, {theirs.listed} with the official object")
    if ours.fatal_errors and not (theirs and theirs.fatal_errors):
        row.problems.append(f"{ours.fatal_errors} 'fatal error:' lines with racert")
    if not ours.top_level:
        row.problems.append("runtime/race ran no top-level test with racert")
    for name, verdict in ours.top_level.items():
        if verdict == "PASS":
            continue
        official_verdict = theirs.top_level.get(name) if theirs else None
        if official_verdict != verdict:
            row.problems.append(f"{name}: {verdict} with racert, {official_verdict or 'not run'} with the official object")
    if theirs is not None:
        missing = sorted(set(theirs.top_level) - set(ours.top_level))
        if missing:
            row.problems.append(f"tests run only with the official object: {', '.join(missing)}")


def check_entry_points(row: Row, goroot: Path, environment: dict[str, str]) -> None:
    completed = subprocess.run([str(RACERT), "status", "--goroot", str(goroot), "--json"], env=environment,
                               capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        raise StepError(f"racert status failed: {completed.stderr.strip()}")
    entry_points = json.loads(completed.stdout)["entry_points"]
    if entry_points["state"] != "served":
        raise StepError(entry_points["description"])
    row.entry_points = f"{len(entry_points['required'])} ok"


def run_programs(row: Row, go_binary: Path, work: Path, environment: dict[str, str]) -> None:
    toolchain = hg.Toolchain(go=str(go_binary), version=row.version)
    names = hg.program_names()
    if not names:
        raise StepError("no programs under tests/e2e/fixtures/programs")
    for mode, flags in hg.LINK_MODES.items():
        out_dir = work / f"programs-{mode}"
        out_dir.mkdir(parents=True, exist_ok=True)

        def build_and_run(name: str) -> str | None:
            build = hg.build_race_binary(toolchain, hg.PROGRAMS_DIR / name, out_dir / name, flags)
            if not build.ok:
                return f"{name} ({mode}): build failed: {hg.last_line(build.output)}"
            wants_external = mode == "external" or name == "cgo"
            if hg.is_externally_linked(build.binary) != wants_external:
                return f"{name} ({mode}): linked {'internally' if wants_external else 'externally'}"
            run = hg.run_race_binary(build.binary)
            if "DATA RACE" in run.combined or "fatal error" in run.combined or run.returncode != 0 \
                    or hg.last_line(run.stdout) != f"OK {name}":
                return f"{name} ({mode}): {run.describe(8)}"
            return None

        # The first build fills the cache (race-instrumented std) alone.
        failures = [build_and_run(names[0])]
        with ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
            failures += list(pool.map(build_and_run, names[1:]))
        failures = [failure for failure in failures if failure]
        row.programs[mode] = f"{len(names) - len(failures)}/{len(names)}"
        row.program_failures += failures
    if row.program_failures:
        row.problems += [f"program {failure.splitlines()[0]}" for failure in row.program_failures]


def snapshot(goroot: Path) -> dict[str, str]:
    files = {}
    for directory in RACE_DIRECTORIES:
        if (goroot / directory).is_dir():
            for entry in sorted((goroot / directory).iterdir()):
                if entry.is_file():
                    files[str(entry.relative_to(goroot))] = hashlib.sha256(entry.read_bytes()).hexdigest()
    return files


def location_states(goroot: Path, environment: dict[str, str]) -> list[str]:
    completed = subprocess.run([str(RACERT), "status", "--goroot", str(goroot), "--json"], env=environment,
                               capture_output=True, text=True, timeout=120)
    if completed.returncode != 0:
        raise StepError(f"racert status failed: {completed.stderr.strip()}")
    return [location["state"] for location in json.loads(completed.stdout)["locations"]]


def install_round_trip(row: Row, goroot: Path, work: Path, environment: dict[str, str], gocache: str) -> None:
    copy = work / "goroot"
    subprocess.run(["cp", "-a", str(goroot), str(copy)], check=True)
    subprocess.run(["chmod", "-R", "u+w", str(copy)], check=True)  # module cache trees are read-only
    before = snapshot(copy)
    states = location_states(copy, environment)
    if not states or set(states) != {"official"}:
        raise StepError(f"install: the copy's locations are {states} before install, expected official")

    def racert(*arguments: str) -> str:
        completed = subprocess.run([str(RACERT), *arguments, "--goroot", str(copy)], env=environment,
                                   capture_output=True, text=True, timeout=300)
        if completed.returncode != 0:
            raise StepError(f"install: racert {arguments[0]} failed: {completed.stderr.strip()}")
        return completed.stdout

    racert("install")
    states = location_states(copy, environment)
    if set(states) != {"racert"}:
        raise StepError(f"install: locations are {states} after install, expected racert")
    binary = work / "racy"
    built = subprocess.run([str(copy / "bin" / "go"), "build", "-race", "-o", str(binary), str(DEMO)],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=900,
                           env=clean_env(GOROOT=str(copy), GOCACHE=gocache))
    if built.returncode != 0:
        raise StepError(f"install: the installed tree's go build -race failed: {built.stderr.strip()[-400:]}")
    ran = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120,
                         env=clean_env(GORACE="verbosity=1 atexit_sleep_ms=0"))
    if ran.returncode != 66 or RACERT_BANNER not in ran.stderr or "WARNING: DATA RACE" not in ran.stderr:
        raise StepError(f"install: the demo built by the installed tree did not run racert "
                        f"(exit {ran.returncode}): {ran.stderr.strip()[:300]}")
    leaked = [symbol.name for symbol in elf.read_symbols(binary.read_bytes())
              if symbol.name.startswith(OFFICIAL_SYMBOL_PREFIX)]
    if leaked:
        raise StepError(f"install: the demo linked {len(leaked)} symbols of the official object")
    racert("uninstall")
    states = location_states(copy, environment)
    if set(states) != {"official"}:
        raise StepError(f"install: locations are {states} after uninstall, expected official")
    after = snapshot(copy)
    if after != before:
        changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
        raise StepError(f"install: uninstall left the race directories changed: {changed}")
    row.install = f"ok ({len(states)} location{'s' if len(states) > 1 else ''})"


def run_release(version: str, arguments: argparse.Namespace, log_dir: Path) -> Row:
    started = time.monotonic()
    row = Row(version=f"go{version}")
    environment = clean_env()
    try:
        fetched = subprocess.run([str(GO_RELEASE), "goroot", version], capture_output=True, text=True, timeout=600)
        if fetched.returncode != 0:
            raise StepError(f"fetch: {fetched.stderr.strip()}")
        goroot = Path(fetched.stdout.strip())
        row.goroot = str(goroot)
        go_binary = goroot / "bin" / "go"
        log(f"{row.version}: {goroot}")

        check_entry_points(row, goroot, environment)
        gocache = subprocess.run([str(RACERT), "env"], env={**environment, "RACERT_GO": str(go_binary)},
                                 capture_output=True, text=True, timeout=300, check=True).stdout
        gocache = re.search(r"^GOCACHE='?([^'\n]+)'?$", gocache, re.MULTILINE).group(1)

        log(f"{row.version}: runtime/race with racert")
        row.racert = run_racert_suite(goroot, log_dir / "racert", environment)
        if arguments.official:
            log(f"{row.version}: runtime/race with the official object")
            row.official = run_official_suite(goroot, gocache, log_dir / "official")
        judge_suite(row)

        with tempfile.TemporaryDirectory(prefix=f"go-matrix-{version}-") as temporary:
            work = Path(temporary)
            log(f"{row.version}: tests/e2e/fixtures/programs, internal and external linking")
            run_programs(row, go_binary, work, environment)
            log(f"{row.version}: install / status / uninstall on a copy of the tree")
            try:
                install_round_trip(row, goroot, work, environment, gocache)
            except StepError as error:
                row.install = "FAILED"
                row.problems.append(str(error))
    except (StepError, subprocess.SubprocessError, OSError) as error:
        row.problems.append(str(error))
    row.seconds = time.monotonic() - started
    log(f"{row.version}: {'ok' if row.ok else 'FAILED'} in {row.seconds:.0f}s")
    return row


# ---------------------------------------------------------------- output

def table(rows: list[Row], with_official: bool) -> str:
    header = ["Go", "entry points", "TestRace (racert)"]
    if with_official:
        header.append("TestRace (official)")
    header += ["TestOutput", "other runtime/race tests", "programs internal", "programs external",
               "install round trip", "result", "time"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        ours, theirs = row.racert, row.official
        cells = [row.version, row.entry_points or "-", ours.testrace_text() if ours else "-"]
        if with_official:
            cells.append(theirs.testrace_text() if theirs else "-")
        if ours:
            output = ours.top_level.get("TestOutput", "not run")
            if theirs and theirs.top_level.get("TestOutput", "not run") != "PASS":
                output += f" (official: {theirs.top_level.get('TestOutput', 'not run')})"
            others = ours.others()
            passing = sum(verdict == "PASS" for verdict in others.values())
            other_text = f"{passing}/{len(others)} pass"
            if theirs:
                official_others = theirs.others()
                other_text += f" (official {sum(v == 'PASS' for v in official_others.values())}/{len(official_others)})"
        else:
            output, other_text = "-", "-"
        cells += [output, other_text, row.programs.get("internal-default", "-"), row.programs.get("external", "-"),
                  row.install or "-", "ok" if row.ok else "FAILED", f"{row.seconds / 60:.1f} min"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def releases_from_file(which: str) -> list[str]:
    listed = subprocess.run([str(GO_RELEASE), "list", which], capture_output=True, text=True, check=True)
    return listed.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ci", action="store_true", help="only the releases marked ci in scripts/go_releases.txt")
    parser.add_argument("--releases", help="comma-separated releases, e.g. 1.19.13,1.27.4")
    parser.add_argument("--object", help="race object to test (default: racert's build/race_linux.syso)")
    parser.add_argument("--no-official", dest="official", action="store_false",
                        help="do not run runtime/race with the official object for comparison")
    parser.add_argument("--log-dir", default=str(REPO_ROOT / "build" / "go-matrix"))
    parser.add_argument("--markdown", help="also write the table to this file")
    arguments = parser.parse_args()
    if arguments.releases:
        releases = [release.strip().removeprefix("go") for release in arguments.releases.split(",") if release.strip()]
    else:
        releases = releases_from_file("ci" if arguments.ci else "all")
    if not releases:
        print("go_matrix: no releases to run", file=sys.stderr)
        return 2
    log_dir = Path(arguments.log_dir).resolve()
    log_dir.mkdir(parents=True, exist_ok=True)
    if arguments.object:
        os.environ["RACERT_OBJECT"] = str(Path(arguments.object).resolve())  # every racert run inherits it
    object_text = os.environ.get("RACERT_OBJECT") or "build/race_linux.syso"
    log(f"releases {' '.join(releases)}; object {object_text}; logs in {log_dir}")

    started = time.monotonic()
    rows = [run_release(release, arguments, log_dir) for release in releases]
    (log_dir / "results.json").write_text(json.dumps(
        [{**asdict(row), "ok": row.ok} for row in rows], indent=2, default=str) + "\n")

    text = table(rows, arguments.official)
    print(text)
    for row in rows:
        for problem in row.problems:
            print(f"{row.version}: {problem}")
    failed = sum(not row.ok for row in rows)
    print(f"go_matrix: {len(rows) - failed} of {len(rows)} releases passed in {(time.monotonic() - started) / 60:.1f} min"
          f" (logs and results.json in {log_dir})")
    if arguments.markdown:
        Path(arguments.markdown).write_text(text + "\n")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

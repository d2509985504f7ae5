#!/usr/bin/env python3
"""Compare `go test -race -short` of standard-library packages: official object vs racert.

For each package, run

    go test -race -short -count=1 <pkg>

twice: with the toolchain's own GOROOT and race object (the official one), and
through ``racert go`` (racert's object in a private GOROOT view). Then print

    package | official result + seconds | racert result + seconds | racert DATA RACE count | same?

and exit 1 if any package's pass/fail differs, or racert printed more
``WARNING: DATA RACE`` reports than the official object did (the standard
library's tests are race-free, so such a report is a false positive). Failures
print the tail of their output. Every run's full output and a TSV of the
timings (timings.tsv) are kept under build/stdlib-compare/<GOVERSION>/ (see
--log-dir).

Usage:
    scripts/stdlib_compare.py [--go PATH] [--packages PKG ... | --std] [--jobs N]

    --go PATH       the go binary (default: `go` on PATH); racert gets it as RACERT_GO
    --packages ...  packages to test (default: the list below)
    --std           every package of `go list std` instead (hours on 2 cores: resumable)
    --jobs N        packages run at the same time (default 1; more makes timings noisy)
    --timeout S     per-run limit in seconds (default 1800; 600 with --std): go test's
                    own -timeout, so a test binary over it panics and prints its
                    goroutines (reported as TIMEOUT); the run's process group is
                    killed 60 s later if it is still there
    --stop-after S  start no new package after S seconds (the cache keeps what ran;
                    --stop-after 0 prints the table of what the cache holds)
    --results FILE  the result cache (default: <log dir>/results.jsonl)
    --no-cache      run every package even when the cache holds its results
    --tail N        lines of output shown for a failing run (default 40)
    --no-warmup     skip the warm-up build (timings then include compiling)
    --log-dir DIR   where logs go (default: build/stdlib-compare)

Before timing a package, a warm-up (`go test -race -short -count=1 -run '^$'
<pkg>` for each side) compiles its race-instrumented test binary into each
side's build cache, so the per-package seconds measure testing, not a cold
compile.

Resuming: each finished run is appended to the result cache as one JSON line,
keyed by package, side, Go version and the SHA-256 of the race object that side
links (the toolchain's own object for "official", racert's chosen object for
"racert"). A later invocation reuses a cached run whose key matches (except a
timed-out run when --timeout now allows more), so an interrupted --std run
continues where it stopped, and rebuilding racert's object re-runs only
racert's side. The final table covers every requested
package that has results for both sides (cached ones marked with *).

Environment: RACERT_CLI overrides the racert executable (default: the
checkout's ./racert); RACERT_OBJECT is passed through to it. Both runs see the
caller's environment otherwise (GORACE included), minus GOROOT and
GOTOOLCHAIN, which must not redirect either run to another toolchain.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tools"))

from racert_cli import objects as racert_objects  # noqa: E402  (needs the path above)
from racert_cli import toolchain as racert_toolchain  # noqa: E402

DEFAULT_PACKAGES = [
    "sync",
    "sync/atomic",
    "context",
    "time",
    "os",
    "io",
    "bufio",
    "bytes",
    "strings",
    "encoding/json",
    "net",
    "net/http",
    "os/exec",
]

RACE_BANNER = "WARNING: DATA RACE"


@dataclass
class RunResult:
    status: str  # "ok", "FAIL", "TIMEOUT" or "ERROR"
    exit_code: int | None
    seconds: float
    races: int
    output: str
    log_path: Path
    cached: bool = False

    @property
    def passed(self) -> bool:
        return self.status == "ok"

    def to_record(self) -> dict:
        return {"status": self.status, "exit_code": self.exit_code, "seconds": round(self.seconds, 2),
                "races": self.races, "log": str(self.log_path)}

    @staticmethod
    def from_record(record: dict) -> "RunResult":
        return RunResult(record["status"], record["exit_code"], record["seconds"], record["races"], "",
                         Path(record["log"]), cached=True)


@dataclass
class Comparison:
    package: str
    official: RunResult
    racert: RunResult

    @property
    def same(self) -> bool:
        return self.official.passed == self.racert.passed

    @property
    def racert_only_races(self) -> int:
        return max(0, self.racert.races - self.official.races)

    @property
    def acceptable(self) -> bool:
        return self.same and self.racert_only_races == 0


class ResultCache:
    """Finished runs, one JSON line each, keyed by (package, side, Go version, object SHA-256)."""

    def __init__(self, path: Path, enabled: bool):
        self.path = path
        self.enabled = enabled
        self.entries: dict[tuple[str, str, str, str], dict] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                try:
                    record = json.loads(line)
                    self.entries[self._key(record)] = record
                except (ValueError, KeyError):
                    continue  # a line cut short by an interrupted run

    @staticmethod
    def _key(record: dict) -> tuple[str, str, str, str]:
        return (record["package"], record["side"], record["go_version"], record["object_sha256"])

    def get(self, package: str, side: str, version: str, sha: str) -> RunResult | None:
        record = self.entries.get((package, side, version, sha)) if self.enabled else None
        return RunResult.from_record(record) if record else None

    def put(self, package: str, side: str, version: str, sha: str, result: RunResult) -> None:
        record = {"package": package, "side": side, "go_version": version, "object_sha256": sha,
                  **result.to_record()}
        self.entries[self._key(record)] = record
        with open(self.path, "a") as stream:
            stream.write(json.dumps(record) + "\n")


def official_object_sha256(go: str) -> str:
    """One digest over every race object the toolchain's GOROOT ships for linux/amd64."""
    out = subprocess.run([go, "env", "GOROOT"], env=base_environment(), capture_output=True, text=True, check=True)
    goroot = Path(out.stdout.strip())
    digest = hashlib.sha256()
    for location in (*racert_toolchain.LEGACY_LOCATIONS, *racert_toolchain.SPLIT_LOCATIONS):
        if (goroot / location).is_file():
            digest.update(location.encode() + b"\0" + racert_objects.sha256_of_file(goroot / location).encode())
    return digest.hexdigest()


def racert_object_sha256() -> str:
    """SHA-256 of the object `racert go` substitutes (RACERT_OBJECT or build/race_linux.syso)."""
    path, _ = racert_objects.choose_object_path(None)
    if not path.is_file():
        raise FileNotFoundError(f"racert object not found: {path} (run ./build_syso.sh)")
    return racert_objects.sha256_of_file(path)


def base_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOROOT", "GOTOOLCHAIN")}
    env["GOTOOLCHAIN"] = "local"
    return env


GO_TEST_TIMED_OUT = "panic: test timed out"


def run_go_test(command: list[str], env: dict[str, str], log_path: Path, timeout: float) -> RunResult:
    """Runs command; timeout is the test's own limit, the process group is killed 60 s later."""
    start = time.monotonic()
    try:
        # A session of its own, so a timeout kills go, the test binary and its children.
        proc = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            raw, _ = proc.communicate(timeout=timeout + 60)
            output = raw.decode(errors="replace")
            exit_code: int | None = proc.returncode
            status = "ok" if proc.returncode == 0 else "TIMEOUT" if GO_TEST_TIMED_OUT in output else "FAIL"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raw, _ = proc.communicate()
            output = raw.decode(errors="replace") + f"\n[stdlib_compare: killed after {timeout + 60} s]\n"
            exit_code, status = None, "TIMEOUT"
    except OSError as error:
        output, exit_code, status = f"[stdlib_compare: cannot run {command[0]}: {error}]\n", None, "ERROR"
    seconds = time.monotonic() - start
    log_path.write_text(f"$ {' '.join(command)}\n{output}")
    return RunResult(status, exit_code, seconds, output.count(RACE_BANNER), output, log_path)


@dataclass
class Setup:
    go: str
    racert: str
    version: str
    log_dir: Path
    timeout: float
    warmup: bool
    cache: ResultCache
    object_sha256: dict[str, str]  # side -> digest

    def command(self, side: str, args: list[str]) -> tuple[list[str], dict[str, str]]:
        env = base_environment()
        if side == "official":
            return [self.go, *args], env
        env["RACERT_GO"] = self.go
        return [self.racert, "go", *args], env


SIDES = ("official", "racert")


def run_side(setup: Setup, package: str, side: str) -> RunResult:
    # racert's object is hashed again for every package: a rebuild during a long
    # run must not file later results under the old object's checksum.
    sha = setup.object_sha256[side] if side == "official" else racert_object_sha256()
    cached = setup.cache.get(package, side, setup.version, sha)
    # A run that timed out is tried again when this invocation allows it more time.
    if cached is not None and not (cached.status == "TIMEOUT" and setup.timeout > cached.seconds + 1):
        return cached
    stem = package.replace("/", "_")
    if setup.warmup:
        command, env = setup.command(side, ["test", "-race", "-short", "-count=1", "-run", "^$", package])
        run_go_test(command, env, setup.log_dir / f"{stem}.{side}.warmup.log", setup.timeout)
    command, env = setup.command(side, ["test", "-race", "-short", "-count=1", f"-timeout={setup.timeout:.0f}s",
                                        package])
    result = run_go_test(command, env, setup.log_dir / f"{stem}.{side}.log", setup.timeout)
    if result.status != "ERROR":
        setup.cache.put(package, side, setup.version, sha, result)
    return result


def compare_package(setup: Setup, package: str) -> Comparison:
    official, mine = (run_side(setup, package, side) for side in SIDES)
    return Comparison(package, official, mine)


def std_packages(go: str) -> list[str]:
    out = subprocess.run([go, "list", "std"], env=base_environment(), capture_output=True, text=True, check=True)
    return out.stdout.split()


def go_version(go: str) -> str:
    out = subprocess.run(
        [go, "env", "GOVERSION"], env=base_environment(), capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def format_table(rows: list[Comparison]) -> str:
    header = ("package", "official", "racert", "racert DATA RACE", "same?")
    cells = [
        (
            r.package,
            f"{r.official.status:<7} {r.official.seconds:7.1f}s{'*' if r.official.cached else ' '}",
            f"{r.racert.status:<7} {r.racert.seconds:7.1f}s{'*' if r.racert.cached else ' '}",
            str(r.racert.races) + (f" (official {r.official.races})" if r.official.races else ""),
            "yes" if r.acceptable else ("NO" if not r.same else "NO (races)"),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(header))]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def summary(rows: list[Comparison]) -> str:
    both_ok = sum(r.official.passed and r.racert.passed for r in rows)
    both_fail = sum(not r.official.passed and not r.racert.passed for r in rows)
    only_official = [r.package for r in rows if r.official.passed and not r.racert.passed]
    only_racert = [r.package for r in rows if r.racert.passed and not r.official.passed]
    raced = [r.package for r in rows if r.racert_only_races]
    lines = [
        f"packages compared: {len(rows)}; same result: {sum(r.same for r in rows)} "
        f"({both_ok} pass with both, {both_fail} fail with both)",
        f"pass only with official: {len(only_official)} {' '.join(only_official)}".rstrip(),
        f"pass only with racert: {len(only_racert)} {' '.join(only_racert)}".rstrip(),
        f"racert-only race reports: {sum(r.racert_only_races for r in rows)} in {len(raced)} packages "
        f"{' '.join(raced)}".rstrip(),
        f"racert timeouts: {sum(r.racert.status == 'TIMEOUT' for r in rows)}, "
        f"official timeouts: {sum(r.official.status == 'TIMEOUT' for r in rows)}",
    ]
    return "\n".join(lines)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--go", default=None, help="go binary (default: go on PATH)")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--packages", nargs="+", default=None, metavar="PKG")
    chosen.add_argument("--std", action="store_true", help="every package of `go list std`")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--stop-after", type=float, default=None, metavar="S")
    parser.add_argument("--results", type=Path, default=None, metavar="FILE")
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument("--tail", type=int, default=40)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--log-dir", type=Path, default=None)
    return parser.parse_args(argv)


def compare_packages(setup: Setup, packages: list[str], jobs: int,
                     stop_after: float | None) -> tuple[list[Comparison], float]:
    """Compares `packages` (`jobs` at a time); past `stop_after` seconds, only
    those the results cache answers. Returns the rows and the wall time."""
    started = time.monotonic()

    def one(package: str) -> Comparison | None:
        if stop_after is not None and time.monotonic() - started > stop_after:
            # Past the deadline: only packages the cache can answer make the table.
            shas = {"official": setup.object_sha256["official"], "racert": racert_object_sha256()}
            if not all(setup.cache.get(package, side, setup.version, shas[side]) for side in SIDES):
                return None
        result = compare_package(setup, package)
        if not (result.official.cached and result.racert.cached):
            print(
                f"   {package}: official {result.official.status} {result.official.seconds:.1f}s, "
                f"racert {result.racert.status} {result.racert.seconds:.1f}s, {result.racert.races} races",
                flush=True,
            )
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rows = [r for r in pool.map(one, packages) if r is not None]
    return rows, time.monotonic() - started


def write_timings(path: Path, rows: list[Comparison]) -> None:
    with open(path, "w") as tsv:
        tsv.write("package\tofficial_status\tofficial_s\tracert_status\tracert_s\tracert_races\tofficial_races\tsame\n")
        for r in rows:
            tsv.write(
                f"{r.package}\t{r.official.status}\t{r.official.seconds:.2f}\t{r.racert.status}\t"
                f"{r.racert.seconds:.2f}\t{r.racert.races}\t{r.official.races}\t{'yes' if r.acceptable else 'no'}\n"
            )


def print_outcome(rows: list[Comparison], package_count: int, elapsed: float, tail_lines: int) -> int:
    """Prints the table, the totals and the output of every run that went
    wrong; returns the exit status."""
    print()
    print(format_table(rows))
    official_total = sum(r.official.seconds for r in rows)
    racert_total = sum(r.racert.seconds for r in rows)
    print(f"\ntotal: official {official_total:.1f}s, racert {racert_total:.1f}s; wall {elapsed:.1f}s"
          f" (* = from the results cache)")
    print(summary(rows))
    if len(rows) < package_count:
        print(f"not yet run: {package_count - len(rows)} of {package_count} packages (run again to resume)")

    for r in rows:
        for side, result in (("official", r.official), ("racert", r.racert)):
            if not result.passed or (side == "racert" and r.racert_only_races):
                print(f"\n== {r.package} ({side}): {result.status}, {result.races} race reports; "
                      f"log: {result.log_path}")
                if result.output:
                    print(tail(result.output, tail_lines))

    bad = [r.package for r in rows if not r.acceptable]
    if bad:
        print(f"\nMISMATCH or racert race reports in: {', '.join(bad)}")
        return 1
    print("\nall packages compared: same result, no racert-only race reports")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    go = shutil.which(args.go or "go")
    if not go:
        print(f"error: no go binary {args.go or 'on PATH'} (use --go PATH)", file=sys.stderr)
        return 2
    go = str(Path(go).resolve())
    racert = os.environ.get("RACERT_CLI") or str(REPO_ROOT / "racert")
    if not os.access(racert, os.X_OK):
        print(f"error: racert CLI not found or not executable: {racert}", file=sys.stderr)
        return 2
    try:
        shas = {"official": official_object_sha256(go), "racert": racert_object_sha256()}
    except (OSError, subprocess.SubprocessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    version = go_version(go)
    packages = std_packages(go) if args.std else (args.packages or DEFAULT_PACKAGES)
    timeout = args.timeout or (600 if args.std else 1800)
    log_dir = (args.log_dir or REPO_ROOT / "build" / "stdlib-compare") / version
    log_dir.mkdir(parents=True, exist_ok=True)
    cache = ResultCache(args.results or log_dir / "results.jsonl", enabled=not args.no_cache)
    setup = Setup(go, racert, version, log_dir, timeout, not args.no_warmup, cache, shas)
    print(f"== {version} ({go}); {len(packages)} packages, {args.jobs} at a time; logs in {log_dir}; "
          f"results cache {cache.path}", flush=True)
    print(f"   objects: official {shas['official'][:12]}, racert {shas['racert'][:12]}", flush=True)

    rows, elapsed = compare_packages(setup, packages, args.jobs, args.stop_after)
    write_timings(log_dir / "timings.tsv", rows)
    return print_outcome(rows, len(packages), elapsed, args.tail)


if __name__ == "__main__":
    sys.exit(main())

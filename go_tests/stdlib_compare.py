#!/usr/bin/env python3
"""Compare `go test -race -short` of standard-library packages: official object vs racert.

For each package, run

    go test -race -short -count=1 <pkg>

twice: with the toolchain's own GOROOT and race object (the official one), and
through ``racert go`` (racert's object in a private GOROOT view). Then print

    package | official result + seconds | racert result + seconds | racert DATA RACE count | same?

and exit 1 if any package's pass/fail differs, or racert printed any
``WARNING: DATA RACE`` (the standard library's tests are race-free, so every
report is a false positive). Failures print the tail of their output. Every
run's full output and a TSV of the timings (timings.tsv) are kept under
build/stdlib-compare/<GOVERSION>/ (see --log-dir).

Usage:
    go_tests/stdlib_compare.py [--go PATH] [--packages PKG ...] [--jobs N]

    --go PATH       the go binary (default: `go` on PATH); racert gets it as RACERT_GO
    --packages ...  packages to test (default: the list below)
    --jobs N        packages run at the same time (default 1; more makes timings noisy)
    --timeout S     per-run limit in seconds (default 1800)
    --tail N        lines of output shown for a failing run (default 40)
    --no-warmup     skip the warm-up build (timings then include compiling)
    --log-dir DIR   where logs go (default: build/stdlib-compare)

Before timing, a warm-up (`go test -race -short -count=1 -run '^$' <pkgs>`
for each side) compiles the race-instrumented packages into each side's build
cache, so the per-package seconds measure testing, not a cold compile.

Environment: RACERT_CLI overrides the racert executable (default: the
checkout's ./racert); RACERT_OBJECT is passed through to it. Both runs see the
caller's environment otherwise (GORACE included), minus GOROOT and
GOTOOLCHAIN, which must not redirect either run to another toolchain.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

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

    @property
    def passed(self) -> bool:
        return self.status == "ok"


@dataclass
class Comparison:
    package: str
    official: RunResult
    racert: RunResult

    @property
    def same(self) -> bool:
        return self.official.passed == self.racert.passed

    @property
    def acceptable(self) -> bool:
        return self.same and self.racert.races == 0


def base_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOROOT", "GOTOOLCHAIN")}
    env["GOTOOLCHAIN"] = "local"
    return env


def run_go_test(command: list[str], env: dict[str, str], log_path: Path, timeout: float) -> RunResult:
    start = time.monotonic()
    try:
        proc = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout
        )
        output = proc.stdout.decode(errors="replace")
        exit_code: int | None = proc.returncode
        status = "ok" if proc.returncode == 0 else "FAIL"
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode(errors="replace") + f"\n[stdlib_compare: killed after {timeout} s]\n"
        exit_code, status = None, "TIMEOUT"
    except OSError as error:
        output, exit_code, status = f"[stdlib_compare: cannot run {command[0]}: {error}]\n", None, "ERROR"
    seconds = time.monotonic() - start
    log_path.write_text(f"$ {' '.join(command)}\n{output}")
    return RunResult(status, exit_code, seconds, output.count(RACE_BANNER), output, log_path)


def compare_package(package: str, go: str, racert: str, log_dir: Path, timeout: float) -> Comparison:
    test_args = ["test", "-race", "-short", "-count=1", package]
    stem = package.replace("/", "_")

    official_env = base_environment()
    official = run_go_test([go, *test_args], official_env, log_dir / f"{stem}.official.log", timeout)

    racert_env = base_environment()
    racert_env["RACERT_GO"] = go
    mine = run_go_test([racert, "go", *test_args], racert_env, log_dir / f"{stem}.racert.log", timeout)
    return Comparison(package, official, mine)


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
            f"{r.official.status:<7} {r.official.seconds:7.1f}s",
            f"{r.racert.status:<7} {r.racert.seconds:7.1f}s",
            str(r.racert.races),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--go", default=None, help="go binary (default: go on PATH)")
    parser.add_argument("--packages", nargs="+", default=DEFAULT_PACKAGES, metavar="PKG")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--tail", type=int, default=40)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--log-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    go = shutil.which(args.go or "go")
    if not go:
        print(f"error: no go binary {args.go or 'on PATH'} (use --go PATH)", file=sys.stderr)
        return 2
    go = str(Path(go).resolve())
    racert = os.environ.get("RACERT_CLI") or str(REPO_ROOT / "racert")
    if not os.access(racert, os.X_OK):
        print(f"error: racert CLI not found or not executable: {racert}", file=sys.stderr)
        return 2

    version = go_version(go)
    log_dir = (args.log_dir or REPO_ROOT / "build" / "stdlib-compare") / version
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"== {version} ({go}); {len(args.packages)} packages, {args.jobs} at a time; logs in {log_dir}", flush=True)

    def one(package: str) -> Comparison:
        result = compare_package(package, go, racert, log_dir, args.timeout)
        print(
            f"   {package}: official {result.official.status} {result.official.seconds:.1f}s, "
            f"racert {result.racert.status} {result.racert.seconds:.1f}s, {result.racert.races} races",
            flush=True,
        )
        return result

    if not args.no_warmup:
        warmup_args = ["test", "-race", "-short", "-count=1", "-run", "^$", *args.packages]
        racert_env = base_environment()
        racert_env["RACERT_GO"] = go
        for side, command, env in (
            ("official", [go, *warmup_args], base_environment()),
            ("racert", [racert, "go", *warmup_args], racert_env),
        ):
            result = run_go_test(command, env, log_dir / f"warmup.{side}.log", args.timeout)
            print(f"   warm-up ({side}): {result.status} in {result.seconds:.1f}s", flush=True)
            if not result.passed:
                print(tail(result.output, args.tail))

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(one, args.packages))
    elapsed = time.monotonic() - started

    with open(log_dir / "timings.tsv", "w") as tsv:
        tsv.write("package\tofficial_status\tofficial_s\tracert_status\tracert_s\tracert_races\tsame\n")
        for r in rows:
            tsv.write(
                f"{r.package}\t{r.official.status}\t{r.official.seconds:.2f}\t{r.racert.status}\t"
                f"{r.racert.seconds:.2f}\t{r.racert.races}\t{'yes' if r.acceptable else 'no'}\n"
            )

    print()
    print(format_table(rows))
    official_total = sum(r.official.seconds for r in rows)
    racert_total = sum(r.racert.seconds for r in rows)
    print(f"\ntotal: official {official_total:.1f}s, racert {racert_total:.1f}s; wall {elapsed:.1f}s")

    for r in rows:
        for side, result in (("official", r.official), ("racert", r.racert)):
            if not result.passed or (side == "racert" and result.races):
                print(f"\n== {r.package} ({side}): {result.status}, {result.races} race reports; "
                      f"last {args.tail} lines of {result.log_path}:")
                print(tail(result.output, args.tail))

    bad = [r.package for r in rows if not r.acceptable]
    if bad:
        print(f"\nMISMATCH or racert race reports in: {', '.join(bad)}")
        return 1
    print("\nall packages: same result, no racert race reports")
    return 0


if __name__ == "__main__":
    sys.exit(main())

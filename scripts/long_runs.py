#!/usr/bin/env python3
"""Long runs under the official object and racert: memory over time, and 10M goroutines.

    scripts/long_runs.py soak [--minutes 10] [--sequential]
    scripts/long_runs.py goroutines [--total 10000000] [--alive 100000]

soak: builds bench/soak (a request-serving program: short request goroutines
filling fresh 2-6 KiB buffers byte by byte, a bounded mutex-guarded cache with
key churn, sync.Map sessions, timers armed and stopped, replies on buffered
channels) with `go build -race` (official) and `racert go build -race`, and runs
both for --minutes at the same time (--sequential: one after the other,
official first). Running side by side gives both the same machine load; each
still gets about half of a 2-core machine, so compare the throughputs with each
other, not with a run alone. Every 10 s (--interval) it reads VmRSS from
/proc/<pid>/status of each, then prints the RSS series, the throughput
(requests/s over the whole run, and per interval from the program's progress
lines) and the check:

    racert RSS growth over the last 5 minutes < 5%, and racert RSS below the official's

where growth compares the median of racert's samples in the last minute with
the median of its samples in the minute around five minutes before the end
(medians, so that one GC cycle's peak or trough does not decide), and "below"
compares racert's last-minute median with the official's. Runs shorter than 10
minutes use the second half of the run instead of the last 5 minutes, and
medians over a third of that.

goroutines: builds bench/goroutines10m (10M goroutines created in waves of
100k that are all alive at once) both ways, runs each alone (official first),
and prints wall time, CPU time and peak RSS (wait4's ru_maxrss).

Both programs are race-free: any race report is printed and fails the run.
GORACE gets atexit_sleep_ms=0 added. Exit status: 0 when every run succeeded
(and, for soak, the check holds), else 1. The racert object is
build/race_linux.syso (--racert-object FILE for another); --go PATH selects go.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import bench_run as bench  # noqa: E402  (build commands, object checks, rusage runs)

# Where each program's main.go is: the soak shares the bench module's code.
SOURCE_DIRS = {"soak": bench.BENCH_DIR / "soak", "goroutines10m": bench.BENCH_DIR / "goroutines10m"}
OUT_DIR = bench.BUILD_DIR / "long_runs"
VARIANTS = ("official", "racert")


def build(program: str, variant: str, go: str, racert_object: Path) -> Path:
    source_dir = SOURCE_DIRS[program]
    output = OUT_DIR / variant / program
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    command = bench.build_command(variant, go, {"racert": racert_object}, output, ["main.go"])
    result = subprocess.run(command, cwd=source_dir, env=bench.build_environment(go),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0 or not output.is_file():
        raise bench.BenchError(f"$ {' '.join(command)}\n{result.stdout.strip()}")
    has_official = bench.OFFICIAL_RUNTIME_MARKER in output.read_bytes()
    if (variant == "official") != has_official:
        raise bench.BenchError(f"{output}: the {variant} build has the wrong race runtime")
    return output


def vm_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class SoakRun:
    """One soak process: its RSS samples and its progress lines."""

    def __init__(self, variant: str, binary: Path, minutes: float, interval: float):
        self.variant = variant
        self.samples: list[tuple[float, int]] = []  # (seconds since start, VmRSS kB)
        self.progress: list[tuple[float, int]] = []  # (seconds, requests so far)
        self.lines: list[str] = []
        self.stderr_path = OUT_DIR / f"soak.{variant}.stderr"
        self.stderr_file = open(self.stderr_path, "w")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [str(binary), f"-duration={minutes * 60:.0f}s", f"-progress={interval:g}s"],
            stdout=subprocess.PIPE, stderr=self.stderr_file, text=True,
            env=bench.run_environment(variant))
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            words = line.split()
            if len(words) == 3 and words[0] == "progress":
                self.progress.append((float(words[1]), int(words[2])))

    def sample(self) -> None:
        if self.process.poll() is None:
            rss = vm_rss_kb(self.process.pid)
            if rss is not None:
                self.samples.append((time.monotonic() - self.started, rss))

    def finish(self) -> None:
        self.process.wait()
        self.reader.join()
        self.stderr_file.close()

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def rate(self) -> float | None:
        for line in self.lines:
            words = line.split()
            if words[:1] == ["requests"] and len(words) >= 6:
                return float(words[5])
        return None

    def interval_rates(self) -> list[float]:
        rates, previous = [], (0.0, 0)
        for point in self.progress:
            rates.append((point[1] - previous[1]) / max(point[0] - previous[0], 1e-9))
            previous = point
        return rates


def median_between(samples: list[tuple[float, int]], low: float, high: float) -> float | None:
    values = [rss for t, rss in samples if low <= t <= high]
    return statistics.median(values) if values else None


def run_soaks(args: argparse.Namespace, binaries: dict[str, Path]) -> dict[str, SoakRun]:
    """Runs each object's soak binary (side by side, or one after the other),
    sampling RSS every --interval seconds."""
    runs: dict[str, SoakRun] = {}
    groups = [[v] for v in VARIANTS] if args.sequential else [list(VARIANTS)]
    for group in groups:
        for variant in group:
            runs[variant] = SoakRun(variant, binaries[variant], args.minutes, args.interval)
        next_sample = time.monotonic()
        try:
            while any(runs[v].process.poll() is None for v in group):
                now = time.monotonic()
                if now >= next_sample:
                    for variant in group:
                        runs[variant].sample()
                    latest = ", ".join(f"{v} {runs[v].samples[-1][1] / 1024:.0f} MB"
                                       for v in group if runs[v].samples)
                    print(f"  [{now - runs[group[0]].started:5.0f} s] {latest}", flush=True)
                    next_sample += args.interval
                time.sleep(min(1.0, max(0.05, next_sample - time.monotonic())))
        except BaseException:
            for variant in group:
                runs[variant].process.kill()
            raise
        for variant in group:
            runs[variant].finish()
    return runs


def print_soak_outcomes(runs: dict[str, SoakRun], interval: float) -> bool:
    """Each run's exit, race reports and throughput; whether all ran clean."""
    ok = True
    for variant in VARIANTS:
        run = runs[variant]
        rate = run.rate
        status = run.process.returncode
        races = run.stderr.count("WARNING: DATA RACE")
        print(f"{variant}: exit {status}, {races} race report(s), throughput "
              f"{rate:.0f} requests/s" if rate is not None else
              f"{variant}: exit {status}, {races} race report(s), no final line")
        print("  " + " ".join(run.lines[-2:]))
        interval_rates = run.interval_rates()
        if interval_rates:
            print(f"  requests/s per {interval:g} s: "
                  + " ".join(f"{r:.0f}" for r in interval_rates))
        if status != 0 or races or rate is None:
            ok = False
            print("  stderr (last lines): "
                  + "\n  ".join(run.stderr.strip().splitlines()[-20:]))
    return ok


def print_rss_samples(series: dict[str, list[tuple[float, int]]]) -> None:
    print("\nRSS (MB) every sample, official | racert:")
    for index in range(max(len(s) for s in series.values())):
        cells = []
        for variant in VARIANTS:
            if index < len(series[variant]):
                t, rss = series[variant][index]
                cells.append(f"{t:5.0f} s {rss / 1024:6.0f}")
            else:
                cells.append(" " * 14)
        print("  " + " | ".join(cells))


def check_rss_growth(series: dict[str, list[tuple[float, int]]], minutes: float) -> bool:
    """Prints each object's RSS growth over the last window (5 minutes, or
    half of a shorter run); met when racert's grows by less than 5% and ends
    below the official object's."""
    duration = minutes * 60
    window = 300.0 if duration >= 600 else duration / 2
    end = {v: series[v][-1][0] if series[v] else duration for v in VARIANTS}
    # Medians over a minute (a third of the window in shorter runs).
    span = min(60.0, window / 3)
    late = {v: median_between(series[v], end[v] - span, end[v]) for v in VARIANTS}
    early = {v: median_between(series[v], end[v] - window - span / 2, end[v] - window + span / 2)
             for v in VARIANTS}
    print()
    for variant in VARIANTS:
        if late[variant] and early[variant]:
            growth = (late[variant] - early[variant]) / early[variant]
            print(f"{variant}: median RSS {early[variant] / 1024:.0f} MB around "
                  f"{window / 60:g} min before the end, {late[variant] / 1024:.0f} MB at the "
                  f"end: growth {growth:+.1%}; max {max(r for _, r in series[variant]) / 1024:.0f} MB")
    if not (late["racert"] and early["racert"] and late["official"]):
        print("check: not enough RSS samples")
        return False
    growth = (late["racert"] - early["racert"]) / early["racert"]
    below = late["racert"] < late["official"]
    met = growth < 0.05 and below
    print(f"check: racert RSS growth over the last {window / 60:g} min {growth:+.1%} "
          f"(< 5%: {'yes' if growth < 0.05 else 'NO'}); racert below the official "
          f"({late['racert'] / 1024:.0f} MB vs {late['official'] / 1024:.0f} MB): "
          f"{'yes' if below else 'NO'} -> {'met' if met else 'NOT MET'}")
    return met


def soak(args: argparse.Namespace, go: str) -> int:
    binaries = {v: build("soak", v, go, args.racert_object) for v in VARIANTS}
    print(f"soak: {args.minutes:g} min per object, "
          f"{'one after the other' if args.sequential else 'side by side'}; RSS every "
          f"{args.interval:g} s; binaries in {OUT_DIR}", flush=True)
    runs = run_soaks(args, binaries)
    print()
    ok = print_soak_outcomes(runs, args.interval)
    series = {v: runs[v].samples for v in VARIANTS}
    print_rss_samples(series)
    ok = check_rss_growth(series, args.minutes) and ok
    official_rate, racert_rate = runs["official"].rate, runs["racert"].rate
    if official_rate and racert_rate:
        print(f"throughput: official {official_rate:.0f} requests/s, racert {racert_rate:.0f} "
              f"requests/s (racert/official {racert_rate / official_rate:.2f})")
    return 0 if ok else 1


def goroutines(args: argparse.Namespace, go: str) -> int:
    binaries = {v: build("goroutines10m", v, go, args.racert_object) for v in VARIANTS}
    os.environ["GOROUTINES_TOTAL"] = str(args.total)
    os.environ["GOROUTINES_ALIVE"] = str(args.alive)
    bench.become_child_subreaper()
    ok = True
    print(f"goroutines: {args.total} created, {args.alive} alive at once; each object alone")
    for variant in VARIANTS:
        run = bench.run_once(binaries[variant], variant, args.timeout)
        summary = " ".join(run.stdout.strip().splitlines()[:1])
        print(f"{variant:8}: exit {run.exit_status}, wall {run.wall_s:.1f} s, cpu {run.cpu_s:.1f} s, "
              f"peak RSS {run.max_rss_kb / 1024:.0f} MB; {summary}", flush=True)
        if run.exit_status != 0 or run.reported_race or run.timed_out:
            ok = False
            print(f"  {'timed out; ' if run.timed_out else ''}"
                  f"{'race reported; ' if run.reported_race else ''}stderr: {run.stderr_tail}")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--go", default=None, help="the go binary (default: go on PATH)")
    parser.add_argument("--racert-object", type=Path, default=bench.RACERT_OBJECT)
    commands = parser.add_subparsers(dest="command", required=True)
    soak_parser = commands.add_parser("soak", help="the server-style program for N minutes")
    soak_parser.add_argument("--minutes", type=float, default=10.0)
    soak_parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    soak_parser.add_argument("--sequential", action="store_true",
                             help="run the objects one after the other instead of side by side")
    goroutine_parser = commands.add_parser("goroutines", help="10M goroutines, 100k alive")
    goroutine_parser.add_argument("--total", type=int, default=10_000_000)
    goroutine_parser.add_argument("--alive", type=int, default=100_000)
    goroutine_parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)

    go = shutil.which(args.go or "go")
    if not go:
        print("no go binary: put go on PATH or pass --go", file=sys.stderr)
        return 2
    go = str(Path(go).resolve())
    args.racert_object = args.racert_object.resolve()
    if not args.racert_object.is_file():
        print(f"{args.racert_object} does not exist (./build_syso.sh builds it)", file=sys.stderr)
        return 2
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    # A copy, so that rebuilding the object meanwhile changes nothing.
    snapshot = OUT_DIR / "racert.syso"
    shutil.copyfile(args.racert_object, snapshot)
    args.racert_object = snapshot
    try:
        return soak(args, go) if args.command == "soak" else goroutines(args, go)
    except bench.BenchError as error:
        print(f"long_runs: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

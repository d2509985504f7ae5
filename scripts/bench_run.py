#!/usr/bin/env python3
"""Benchmark racert against Go's official race runtime.

Every workload under bench/workloads/ is built in up to four variants (they are
packages of the module bench/go.mod, sharing bench/internal/workload):

  plain     go build            (no -race: the program's own cost)
  floor     -race, linked with build/race_linux_floor.syso, which detects nothing:
            the cost of Go's instrumentation calls alone
  official  -race, linked with the toolchain's own ThreadSanitizer object
  racert    -race, linked with build/race_linux.syso (or --racert-object FILE)

floor and racert are built through `./racert [--object FILE] go build -race`, which
links a replaced object from a private GOROOT view; official is a plain
`go build -race` against the real GOROOT. (`go build -overlay` must never be used
for this: it links the original object and poisons the build cache.)

Runs are interleaved round-robin (each round runs every workload in every variant,
with the variant order rotated from round to round), so slow drifts of the
machine's load spread over all variants instead of biasing one. Each run's wall
time and max RSS (ru_maxrss from wait4) are recorded; the table shows medians.
Race variants run with GORACE=atexit_sleep_ms=0 so the runtime's 1 s exit sleep
is not measured. GOMAXPROCS is left unset.

Each run's exit status and stdout (the workload's checksum line) must agree with
the other variants of the same workload; a disagreeing variant is flagged.

Standard library only. Run from anywhere: paths are relative to the checkout.
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO_ROOT / "bench"
WORKLOADS_DIR = BENCH_DIR / "workloads"
RESULTS_DIR = BENCH_DIR / "results"
BUILD_DIR = REPO_ROOT / "build"
BINARIES_DIR = BUILD_DIR / "bench"
RACERT_CLI = REPO_ROOT / "racert"
FLOOR_OBJECT = BUILD_DIR / "race_linux_floor.syso"
RACERT_OBJECT = BUILD_DIR / "race_linux.syso"
# Objects are copied here before building, so that a rebuild of build/*.syso by
# someone else during a run cannot give different workloads different objects.
OBJECT_SNAPSHOT_DIR = BINARIES_DIR / "objects"

ALL_VARIANTS = ("plain", "floor", "official", "racert")
RACE_VARIANTS = ("floor", "official", "racert")

# A symbol namespace that exists only inside LLVM's ThreadSanitizer runtime. The
# official binary must contain it; a binary meant to hold another object must not
# (if it does, the substitution silently failed and the numbers would be a lie).
OFFICIAL_RUNTIME_MARKER = b"_ZN6__tsan"

# (racert - floor) / (official - floor) is meaningless when the official runtime
# barely costs more than the floor: the denominator is mostly noise.
MIN_OFFICIAL_EXCESS_FRACTION = 0.05

# The geometric mean needs positive values; a racert excess at or below zero
# (racert no slower than the floor, within noise) counts as this.
EXCESS_RATIO_CLAMP = 0.01

# The share of the machine's CPU time that other processes may use during the
# runs before the report warns that wall times are noisy.
NOISY_BACKGROUND_SHARE = 0.10


@dataclasses.dataclass
class Run:
    wall_s: float
    cpu_s: float  # user + system, a cross-check when the machine is busy
    max_rss_kb: int
    exit_status: int  # negative: killed by that signal
    stdout: str
    stderr_tail: str
    reported_race: bool = False  # stderr holds a race report
    timed_out: bool = False


@dataclasses.dataclass
class Cell:
    """All runs of one workload in one variant."""

    workload: str
    variant: str
    binary: Path | None = None
    build_error: str | None = None
    runs: list[Run] = dataclasses.field(default_factory=list)
    flags: list[str] = dataclasses.field(default_factory=list)

    def median_wall(self) -> float | None:
        return statistics.median(r.wall_s for r in self.runs) if self.runs else None

    def median_rss_kb(self) -> float | None:
        return statistics.median(r.max_rss_kb for r in self.runs) if self.runs else None

    def median_cpu(self) -> float | None:
        return statistics.median(r.cpu_s for r in self.runs) if self.runs else None


class BenchError(Exception):
    pass


# --- Setup -------------------------------------------------------------------


def discover_workloads() -> list[str]:
    return sorted(p.parent.name for p in WORKLOADS_DIR.glob("*/main.go"))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_object(source: Path, variant: str) -> Path:
    OBJECT_SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    snapshot = OBJECT_SNAPSHOT_DIR / f"{variant}.syso"
    shutil.copyfile(source, snapshot)
    return snapshot


def ensure_floor_object() -> None:
    """Brings the floor object up to date (build_syso.sh is incremental and quick)."""
    result = subprocess.run([str(REPO_ROOT / "build_syso.sh"), "--floor"], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode == 0 and FLOOR_OBJECT.is_file():
        return
    if FLOOR_OBJECT.is_file():
        print(f"warning: ./build_syso.sh --floor failed; using the existing {FLOOR_OBJECT}",
              file=sys.stderr)
        return
    raise BenchError(f"./build_syso.sh --floor failed:\n{result.stdout}")


def ensure_racert_object(path: Path, build: bool = True) -> str | None:
    """Returns None when the object is usable, else why not (racert is then skipped)."""
    if path.is_file():
        return None
    if path != RACERT_OBJECT or not build:
        return f"{path} does not exist"
    print("build/race_linux.syso is missing; running ./build_syso.sh", file=sys.stderr)
    result = subprocess.run([str(REPO_ROOT / "build_syso.sh")], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode == 0 and path.is_file():
        return None
    tail = "\n".join(result.stdout.strip().splitlines()[-5:])
    return f"./build_syso.sh failed, so there is no racert object:\n{tail}"


def go_version(go: str) -> str:
    result = subprocess.run([go, "version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=build_environment(go))
    return result.stdout.strip()


def build_environment(go: str) -> dict[str, str]:
    """The environment for every go invocation: the chosen go, its own GOROOT."""
    env = dict(os.environ)
    # A GOROOT inherited from the caller could point the official build at some
    # other tree (or at a racert view); each go binary should find its own.
    env.pop("GOROOT", None)
    env.pop("RACERT_OBJECT", None)  # the runner chooses objects explicitly
    env["GOWORK"] = "off"
    # bench/go.mod's go line must never make an older go fetch a newer one.
    env["GOTOOLCHAIN"] = "local"
    env["RACERT_GO"] = go  # which go `./racert go` runs
    return env


def build_command(variant: str, go: str, objects: dict[str, Path], output: Path,
                  sources: list[str]) -> list[str]:
    go_build = ["build", "-trimpath", "-o", str(output)]
    if variant == "plain":
        return [go, *go_build, *sources]
    if variant == "official":
        return [go, *go_build[:1], "-race", *go_build[1:], *sources]
    return [str(RACERT_CLI), "--object", str(objects[variant]), "go", go_build[0], "-race",
            *go_build[1:], *sources]


def build_cell(cell: Cell, go: str, objects: dict[str, Path]) -> None:
    workload_dir = WORKLOADS_DIR / cell.workload
    sources = sorted(p.name for p in workload_dir.glob("*.go") if not p.name.endswith("_test.go"))
    output = BINARIES_DIR / cell.variant / cell.workload
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    command = build_command(cell.variant, go, objects, output, sources)
    result = subprocess.run(command, cwd=workload_dir, env=build_environment(go),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0 or not output.is_file():
        cell.build_error = f"$ {' '.join(command)}\n{result.stdout.strip()}"
        return
    has_official_runtime = OFFICIAL_RUNTIME_MARKER in output.read_bytes()
    if cell.variant == "official" and not has_official_runtime:
        cell.build_error = "the official build does not contain ThreadSanitizer's runtime"
        return
    if cell.variant in ("floor", "racert") and has_official_runtime:
        cell.build_error = ("this build contains ThreadSanitizer's runtime: the object was not "
                            "substituted (stale cache or view?)")
        return
    cell.binary = output


# --- Running -------------------------------------------------------------------


def run_environment(variant: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GOMAXPROCS", None)
    if variant in RACE_VARIANTS:
        # Keep any GORACE options the caller set, but never measure the exit sleep.
        extra = env.get("GORACE", "").strip()
        env["GORACE"] = " ".join(filter(None, [extra, "atexit_sleep_ms=0"]))
    return env


# Why runs are started through /bin/sh: Linux carries a process's max RSS across
# exec, starting from the memory of the process that exec'd. A child forked (or
# posix_spawn'ed) from this Python process would therefore report at least
# Python's own RSS (tens of MB), swamping the small workloads. So a throwaway sh
# forks the workload (a copy of sh's ~1 MB, with fresh rusage), prints its pid
# and exits; as a child subreaper, this process adopts the workload and reaps it
# itself with wait4, getting the workload's own rusage.
LAUNCH_SCRIPT = '"$0" 3>&- & echo $! >&3'
PR_SET_CHILD_SUBREAPER = 36


def become_child_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise BenchError(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(error)}")


def launch_through_shell(binary: Path, env: dict[str, str], stdout_fd: int,
                         stderr_fd: int) -> int:
    """Starts the binary as a grandchild that gets re-parented here; returns its pid."""
    pid_reader, pid_writer = os.pipe()
    try:
        shell = os.posix_spawn("/bin/sh", ["sh", "-c", LAUNCH_SCRIPT, str(binary)], env,
                               file_actions=[
                                   (os.POSIX_SPAWN_DUP2, stdout_fd, 1),
                                   (os.POSIX_SPAWN_DUP2, stderr_fd, 2),
                                   (os.POSIX_SPAWN_DUP2, pid_writer, 3),
                               ])
        os.close(pid_writer)
        pid_writer = -1
        text = b""
        while not text.endswith(b"\n"):
            chunk = os.read(pid_reader, 64)
            if not chunk:
                break
            text += chunk
        _, shell_status, _ = os.wait4(shell, 0)
    finally:
        os.close(pid_reader)
        if pid_writer >= 0:
            os.close(pid_writer)
    if os.waitstatus_to_exitcode(shell_status) != 0 or not text.strip().isdigit():
        raise BenchError(f"could not start {binary} through /bin/sh")
    # The shell has been reaped, so the workload is now our child (alive or a
    # zombie) and its pid cannot be recycled before we reap it.
    return int(text)


def run_once(binary: Path, variant: str, timeout_s: float) -> Run:
    """Runs the binary, timing it and reading its rusage with wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        env = run_environment(variant)
        start = time.perf_counter()
        pid = launch_through_shell(binary, env, out.fileno(), err.fileno())
        # A pidfd becomes readable when the process exits, and a signal sent
        # through it cannot reach another process.
        pidfd = os.pidfd_open(pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            timed_out = not poller.poll(timeout_s * 1000)
            if timed_out:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            wall = time.perf_counter() - start
        except BaseException:
            # Ctrl-C does not reach a job sh started in the background; end it here.
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            os.wait4(pid, 0)
            raise
        finally:
            os.close(pidfd)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    return Run(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_kb=usage.ru_maxrss,  # kilobytes on Linux
        exit_status=os.waitstatus_to_exitcode(status),
        stdout=stdout,
        stderr_tail="\n".join(stderr.strip().splitlines()[-20:]),
        reported_race="WARNING: DATA RACE" in stderr,
        timed_out=timed_out,
    )


def run_rounds(cells: dict[tuple[str, str], Cell], workloads: list[str], variants: list[str],
               rounds: int, timeout_s: float) -> None:
    total = sum(1 for w in workloads for v in variants if cells[(w, v)].binary) * rounds
    done = 0
    for round_index in range(rounds):
        # Rotate the variant order so no variant always runs right after another.
        shift = round_index % len(variants)
        order = variants[shift:] + variants[:shift]
        for workload in workloads:
            for variant in order:
                cell = cells[(workload, variant)]
                if cell.binary is None:
                    continue
                run = run_once(cell.binary, variant, timeout_s)
                cell.runs.append(run)
                done += 1
                status = "" if run.exit_status == 0 else f" exit {run.exit_status}"
                print(f"[{done}/{total}] round {round_index + 1} {workload:<16} {variant:<8} "
                      f"{run.wall_s:6.2f} s {run.max_rss_kb / 1024:7.0f} MB{status}",
                      file=sys.stderr, flush=True)


def machine_busy_seconds() -> float:
    """CPU-seconds every CPU has spent busy since boot (the first line of /proc/stat)."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...; guest time is inside user.
    busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6] + ticks[7]
    return busy / os.sysconf("SC_CLK_TCK")


def background_cpu_share(busy_before: float, busy_after: float, elapsed_s: float,
                         runs_cpu_s: float) -> float:
    """The fraction of the machine other processes used while the benchmarks ran."""
    others = max(0.0, (busy_after - busy_before) - runs_cpu_s)
    return others / (elapsed_s * (os.cpu_count() or 1))


# --- Checking ------------------------------------------------------------------


def check_outputs(cells: dict[tuple[str, str], Cell], workloads: list[str],
                  variants: list[str]) -> None:
    """Flags runs that fail, and variants whose output disagrees with the others.

    The expected output is the one most variants produced with exit status 0 (the
    plain build's, on a tie), so a single broken variant cannot redefine it.
    """
    for workload in workloads:
        votes: dict[str, float] = {}
        for variant in variants:
            cell = cells[(workload, variant)]
            for run in cell.runs:
                if run.exit_status != 0 or run.timed_out:
                    reason = "timed out" if run.timed_out else f"exit status {run.exit_status}"
                    note = f"{reason}: {run.stderr_tail.splitlines()[-1] if run.stderr_tail else ''}"
                    if note not in cell.flags:
                        cell.flags.append(note)
                if run.reported_race and "reported a race" not in cell.flags:
                    cell.flags.append("reported a race")
            outputs = {r.stdout for r in cell.runs if r.exit_status == 0}
            if len(outputs) > 1:
                cell.flags.append("output differs between its own runs")
            for output in outputs:
                # One vote per variant; plain's half vote only breaks ties.
                votes[output] = votes.get(output, 0) + 1 + (0.5 if variant == "plain" else 0)
        if not votes:
            continue
        expected = max(votes, key=lambda o: votes[o])
        for variant in variants:
            cell = cells[(workload, variant)]
            if any(r.stdout != expected for r in cell.runs if r.exit_status == 0):
                cell.flags.append(f"checksum differs: {first_line_differing(cell, expected)!r} "
                                  f"(expected {expected.strip()!r})")


def first_line_differing(cell: Cell, expected: str) -> str:
    for run in cell.runs:
        if run.exit_status == 0 and run.stdout != expected:
            return run.stdout.strip()
    return ""


# --- Reporting -----------------------------------------------------------------


def excess_ratio(racert: float | None, floor: float | None,
                 official: float | None) -> float | None:
    """(racert - floor) / (official - floor), or None when it is not meaningful."""
    if racert is None or floor is None or official is None:
        return None
    if official - floor < MIN_OFFICIAL_EXCESS_FRACTION * floor:
        return None
    return (racert - floor) / (official - floor)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def geometric_mean(values: list[float]) -> float | None:
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def fmt_time(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}s"


def fmt_rss(kilobytes: float | None) -> str:
    return "-" if kilobytes is None else f"{kilobytes / 1024:.0f}M"


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def summarize(cells: dict[tuple[str, str], Cell], workloads: list[str], time_key: str) -> dict:
    """Per-workload medians and ratios, plus the summary over workloads.

    time_key is "wall_s" or "cpu_s": the median the time ratios are computed from.
    """
    rows = []
    for workload in workloads:
        medians = {}
        for variant in ALL_VARIANTS:
            cell = cells.get((workload, variant))
            medians[variant] = {
                "wall_s": cell.median_wall() if cell else None,
                "max_rss_kb": cell.median_rss_kb() if cell else None,
                "cpu_s": cell.median_cpu() if cell else None,
            }
        wall = {v: medians[v][time_key] for v in ALL_VARIANTS}
        rss = {v: medians[v]["max_rss_kb"] for v in ALL_VARIANTS}
        rows.append({
            "workload": workload,
            "medians": medians,
            "time_ratio": ratio(wall["racert"], wall["official"]),
            "rss_ratio": ratio(rss["racert"], rss["official"]),
            "excess_ratio": excess_ratio(wall["racert"], wall["floor"], wall["official"]),
            "official_excess_s": (None if wall["official"] is None or wall["floor"] is None
                                  else wall["official"] - wall["floor"]),
        })

    excesses = [(r["workload"], r["excess_ratio"]) for r in rows if r["excess_ratio"] is not None]
    clamped = [w for w, e in excesses if e < EXCESS_RATIO_CLAMP]
    rss_ratios = [(r["workload"], r["rss_ratio"]) for r in rows if r["rss_ratio"] is not None]
    time_ratios = [(r["workload"], r["time_ratio"]) for r in rows if r["time_ratio"] is not None]
    summary = {
        "geomean_excess_ratio": geometric_mean([max(e, EXCESS_RATIO_CLAMP) for _, e in excesses]),
        "excess_workloads": len(excesses),
        "excess_clamped_workloads": clamped,
        "geomean_time_ratio": geometric_mean([t for _, t in time_ratios]),
        "geomean_rss_ratio": geometric_mean([r for _, r in rss_ratios]),
        "worst_excess": max(excesses, key=lambda x: x[1]) if excesses else None,
        "worst_time_ratio": max(time_ratios, key=lambda x: x[1]) if time_ratios else None,
        "worst_rss_ratio": max(rss_ratios, key=lambda x: x[1]) if rss_ratios else None,
    }
    return {"rows": rows, "summary": summary, "time_key": time_key}


# (group label, column labels) of the table; table_rows follows the same layout.
TABLE_GROUPS = ([("", ["workload"])]
                + [(variant, ["time", "rss"]) for variant in ALL_VARIANTS]
                + [("racert/official", ["time", "rss"]), ("excess", ["(r-f)/(o-f)"])])
TABLE_SEPARATOR = "  "


def render_table(summary: dict, cells: dict[tuple[str, str], Cell]) -> str:
    text = render_grid(table_rows(summary))
    text.append("")
    text += explanation_lines(summary["time_key"])
    text.append("")
    text.append(f"summary over {len(summary['rows'])} workload(s):")
    text += summary_lines(summary["summary"])
    text += problem_lines(cells)
    return "\n".join(text)


def table_rows(summary: dict) -> list[list[str]]:
    """One line of cell texts per workload."""
    rows = []
    for row in summary["rows"]:
        m = row["medians"]
        line = [row["workload"]]
        for variant in ALL_VARIANTS:
            line += [fmt_time(m[variant][summary["time_key"]]), fmt_rss(m[variant]["max_rss_kb"])]
        line += [fmt_ratio(row["time_ratio"]), fmt_ratio(row["rss_ratio"]),
                 fmt_ratio(row["excess_ratio"])]
        rows.append(line)
    return rows


def column_widths(labels: list[str], rows: list[list[str]]) -> list[int]:
    """The widest text of each column, then each group's columns widened until
    the group label fits over them."""
    widths = [max(len(line[i]) for line in [labels, *rows]) for i in range(len(labels))]
    column = 0
    for group_label, columns in TABLE_GROUPS:
        span = list(range(column, column + len(columns)))
        spanned = sum(widths[i] for i in span) + len(TABLE_SEPARATOR) * (len(span) - 1)
        missing = max(0, len(group_label) - spanned)
        for offset, i in enumerate(span):
            widths[i] += missing // len(span) + (1 if offset < missing % len(span) else 0)
        column += len(columns)
    return widths


def render_grid(rows: list[list[str]]) -> list[str]:
    """The group line, the column labels, a rule and the rows."""
    labels = [label for _, columns in TABLE_GROUPS for label in columns]
    widths = column_widths(labels, rows)

    def render(line: list[str]) -> str:
        cells_text = [line[0].ljust(widths[0])]
        cells_text += [text.rjust(width) for text, width in zip(line[1:], widths[1:])]
        return TABLE_SEPARATOR.join(cells_text).rstrip()

    group_line = []
    column = 0
    for group_label, columns in TABLE_GROUPS:
        span = range(column, column + len(columns))
        spanned = sum(widths[i] for i in span) + len(TABLE_SEPARATOR) * (len(columns) - 1)
        group_line.append(group_label.rjust(spanned))
        column += len(columns)
    text = [TABLE_SEPARATOR.join(group_line).rstrip(), render(labels)]
    text.append("-" * len(text[-1]))
    text.extend(render(line) for line in rows)
    return text


def explanation_lines(time_key: str) -> list[str]:
    text = []
    if time_key == "cpu_s":
        text.append("time: median CPU time (user + system) of the runs, not wall time.")
    text.append("racert/official: ratio of the medians. excess: (racert - floor) / (official - floor),")
    text.append("racert's own cost as a fraction of the official runtime's own cost (n/a when")
    text.append(f"official - floor < {MIN_OFFICIAL_EXCESS_FRACTION:.0%} of floor).")
    return text


def summary_lines(s: dict) -> list[str]:
    """The geometric means and the worst workloads, labels aligned."""
    if s["excess_workloads"]:
        note = f"  (over {s['excess_workloads']} workload(s) where it is defined"
        if s["excess_clamped_workloads"]:
            note += (f"; {len(s['excess_clamped_workloads'])} value(s) below "
                     f"{EXCESS_RATIO_CLAMP} counted as {EXCESS_RATIO_CLAMP}")
        note += ")"
    else:
        note = ""
    lines = [
        ("geomean excess ratio", fmt_ratio(s["geomean_excess_ratio"]) + note),
        ("geomean racert/official time", fmt_ratio(s["geomean_time_ratio"])),
        ("geomean racert/official RSS", fmt_ratio(s["geomean_rss_ratio"])),
    ]
    for key, label in (("worst_excess", "worst excess ratio"),
                       ("worst_time_ratio", "worst racert/official time"),
                       ("worst_rss_ratio", "worst racert/official RSS")):
        value = f"{s[key][0]} ({s[key][1]:.2f})" if s[key] else "n/a"
        lines.append((label, value))
    label_width = max(len(label) for label, _ in lines)
    return [f"  {label.ljust(label_width)}  {value}" for label, value in lines]


def problem_lines(cells: dict[tuple[str, str], Cell]) -> list[str]:
    """Cells not built or flagged, under a heading; nothing when there are none."""
    problems = []
    for cell in cells.values():
        if cell.build_error:
            problems.append(f"{cell.workload}/{cell.variant}: NOT BUILT: "
                            f"{cell.build_error.splitlines()[-1] if cell.build_error else ''}")
        for flag in cell.flags:
            problems.append(f"{cell.workload}/{cell.variant}: FLAGGED: {flag}")
    if not problems:
        return []
    return ["", "Problems:", *("  " + p for p in problems)]


def write_json(path: Path, args: argparse.Namespace, info: dict, summary: dict,
               cells: dict[tuple[str, str], Cell]) -> None:
    document = {
        **info,
        "options": {"workloads": args.workloads, "variants": args.variants, "runs": args.runs,
                    "time": args.time},
        "time_key": summary["time_key"],
        "rows": summary["rows"],
        "summary": summary["summary"],
        "cells": [
            {
                "workload": c.workload,
                "variant": c.variant,
                "build_error": c.build_error,
                "flags": c.flags,
                "runs": [dataclasses.asdict(r) for r in c.runs],
            }
            for c in cells.values()
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


# --- Main ------------------------------------------------------------------------


def add_go_arguments(parser: argparse.ArgumentParser, timeout: float, timeout_help: str) -> None:
    """The options of every script that builds with both objects: which go, which racert
    object, and how long one run may take (`timeout_help`, without the default)."""
    parser.add_argument("--go", default=None, help="the go binary (default: `go` on PATH)")
    parser.add_argument("--racert-object", type=Path, default=RACERT_OBJECT,
                        help="the object measured as `racert` (default: build/race_linux.syso)")
    parser.add_argument("--timeout", type=float, default=timeout,
                        help=f"{timeout_help} (default: {timeout:g})")


def add_measure_arguments(parser: argparse.ArgumentParser, results_prefix: str,
                          variants_note: str = "") -> None:
    """The options `measure` reads, for this script and scripts/bench_micro.py; --runs is checked
    by check_runs after parsing."""
    parser.add_argument("--variants", default=",".join(ALL_VARIANTS),
                        help=f"comma-separated subset of {','.join(ALL_VARIANTS)} "
                             f"(default: all{variants_note})")
    parser.add_argument("--runs", type=int, default=5, help="rounds of runs (default: 5)")
    parser.add_argument("--json", type=Path,
                        help=f"where to write results (default: "
                             f"bench/results/{results_prefix}<timestamp>.json)")
    add_go_arguments(parser, 120.0, "seconds before a single run is killed")
    parser.add_argument("--no-object-build", action="store_true",
                        help="never run ./build_syso.sh: use build/race_linux_floor.syso and the "
                             "racert object as they are (for a checkout where someone else "
                             "builds the objects)")


def check_runs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def results_path(chosen: Path | None, prefix: str) -> Path:
    """Where a script writes its JSON: --json if given, else a new file in bench/results/."""
    return chosen or RESULTS_DIR / (prefix + datetime.datetime.now().strftime("%Y%m%d-%H%M%S") + ".json")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark racert against the official race runtime (see bench/README.md).")
    parser.add_argument("--workloads", help="comma-separated workload names (default: all)")
    add_measure_arguments(parser, results_prefix="")
    parser.add_argument("--time", choices=("wall", "cpu"), default="wall",
                        help="which time the table and ratios use: wall (default) or CPU "
                             "(user+system; less disturbed by other load on the machine)")
    return check_runs(parser, parser.parse_args(argv))


def measure(args: argparse.Namespace, go: str, workloads: list[str],
            variants: list[str]) -> tuple[dict, dict[tuple[str, str], Cell]]:
    """Prepares the objects, builds every workload in every variant, runs the rounds and
    checks the outputs. Returns the run's metadata and the cells; raises BenchError when
    the setup fails. Uses args.racert_object, args.no_object_build, args.runs and
    args.timeout (scripts/bench_micro.py calls it too).
    """
    racert_object = args.racert_object.resolve()
    racert_problem = prepare_objects(racert_object, variants, build=not args.no_object_build)
    info = run_metadata(go)
    objects = snapshot_objects(racert_object, racert_problem, variants, info)
    print_setup(info, len(workloads), len(variants), args.runs)
    cells = build_cells(workloads, variants, go, objects, racert_problem)
    run_and_account(cells, workloads, variants, args.runs, args.timeout, info)
    check_outputs(cells, workloads, variants)
    return info, cells


def prepare_objects(racert_object: Path, variants: list[str], build: bool) -> str | None:
    """Builds (or, without `build`, requires) the floor object; returns why the racert
    object cannot be measured, or None."""
    if "floor" in variants:
        if build:
            ensure_floor_object()
        elif not FLOOR_OBJECT.is_file():
            raise BenchError(f"{FLOOR_OBJECT} does not exist (and --no-object-build)")
    racert_problem = (ensure_racert_object(racert_object, build=build)
                      if "racert" in variants else None)
    if ("floor" in variants or "racert" in variants) and not RACERT_CLI.is_file():
        raise BenchError(f"{RACERT_CLI} is missing: floor and racert are built through it")
    return racert_problem


def run_metadata(go: str) -> dict:
    """What the results file records about the machine, the toolchain and the checkout."""
    return {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "go": go,
        "go_version": go_version(go),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True).stdout.strip(),
        "objects": {},
        "load_average_before": os.getloadavg(),
    }


def snapshot_objects(racert_object: Path, racert_problem: str | None, variants: list[str],
                     info: dict) -> dict[str, Path]:
    """variant -> a snapshot of its object, recorded in info["objects"]."""
    objects: dict[str, Path] = {}
    for variant, path in (("floor", FLOOR_OBJECT), ("racert", racert_object)):
        if variant in variants and path.is_file() and not (variant == "racert" and racert_problem):
            objects[variant] = snapshot_object(path, variant)
            info["objects"][variant] = {"path": str(path), "sha256": sha256_of(objects[variant])}
    return objects


def print_setup(info: dict, workload_count: int, variant_count: int, runs: int) -> None:
    print(f"{info['go_version']}; {workload_count} workload(s) x {variant_count} variant(s) x "
          f"{runs} run(s)", file=sys.stderr)
    for variant, entry in info["objects"].items():
        print(f"{variant} object: {entry['path']} sha256 {entry['sha256'][:12]}", file=sys.stderr)
    if info["objects"].get("floor", {}).get("sha256") == info["objects"].get("racert", {}).get("sha256"):
        if "floor" in info["objects"]:
            print("note: the racert object is byte-identical to the floor object", file=sys.stderr)


def build_cells(workloads: list[str], variants: list[str], go: str, objects: dict[str, Path],
                racert_problem: str | None) -> dict[tuple[str, str], Cell]:
    """One cell per workload and variant, each built (or marked with its build error)."""
    cells: dict[tuple[str, str], Cell] = {}
    for workload in workloads:
        for variant in variants:
            cell = Cell(workload, variant)
            cells[(workload, variant)] = cell
            if variant == "racert" and racert_problem:
                cell.build_error = racert_problem
                continue
            print(f"building {workload} ({variant})", file=sys.stderr, flush=True)
            build_cell(cell, go, objects)
            if cell.build_error:
                print(f"  build failed: {cell.build_error}", file=sys.stderr)
    return cells


def run_and_account(cells: dict[tuple[str, str], Cell], workloads: list[str], variants: list[str],
                    runs: int, timeout_s: float, info: dict) -> None:
    """Runs the rounds; records in info how long they took and how busy the machine
    was with other work meanwhile."""
    become_child_subreaper()
    busy_before, started = machine_busy_seconds(), time.perf_counter()
    run_rounds(cells, workloads, variants, runs, timeout_s)
    elapsed = time.perf_counter() - started
    runs_cpu = sum(r.cpu_s for c in cells.values() for r in c.runs)
    info["runs_elapsed_s"] = elapsed
    info["background_cpu_share"] = background_cpu_share(busy_before, machine_busy_seconds(), elapsed,
                                                        runs_cpu)


def selected_workloads_and_variants(args: argparse.Namespace) -> tuple[list[str], list[str]] | None:
    """The workloads and variants asked for (variants in canonical order), or None
    after printing what is unknown."""
    available = discover_workloads()
    workloads = args.workloads.split(",") if args.workloads else available
    unknown = [w for w in workloads if w not in available]
    if unknown:
        print(f"unknown workload(s): {', '.join(unknown)}; available: {', '.join(available)}",
              file=sys.stderr)
        return None
    variants = parse_variants(args.variants)
    return None if variants is None else (workloads, variants)


def parse_variants(text: str) -> list[str] | None:
    """The comma-separated variants in canonical order, or None after printing the
    unknown ones."""
    variants = text.split(",")
    bad = [v for v in variants if v not in ALL_VARIANTS]
    if bad or not variants:
        print(f"unknown variant(s): {', '.join(bad)}; choose from {', '.join(ALL_VARIANTS)}",
              file=sys.stderr)
        return None
    return [v for v in ALL_VARIANTS if v in variants]


def resolve_go(option: str | None) -> str | None:
    """The go binary (--go, else go on PATH) as an absolute path, or None after
    saying there is none."""
    go = option or shutil.which("go")
    if not go:
        print("no go binary: put go on PATH or pass --go", file=sys.stderr)
        return None
    return str(Path(go).resolve())


def report(args: argparse.Namespace, info: dict, workloads: list[str],
           cells: dict[tuple[str, str], Cell]) -> Path:
    """Prints the table and the load note, writes the results file and returns its path."""
    elapsed, background = info["runs_elapsed_s"], info["background_cpu_share"]
    summary = summarize(cells, workloads, "cpu_s" if args.time == "cpu" else "wall_s")
    print(render_table(summary, cells))
    print(f"\nruns took {elapsed:.0f} s; other processes used {background:.0%} of the "
          f"machine's CPU meanwhile" + (
              " -- wall times are noisy, compare with care" if background > NOISY_BACKGROUND_SHARE
              else ""))
    json_path = results_path(args.json, "")
    write_json(json_path, args, info, summary, cells)
    return json_path


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    selection = selected_workloads_and_variants(args)
    if selection is None:
        return 2
    workloads, variants = selection
    go = resolve_go(args.go)
    if go is None:
        return 2
    try:
        info, cells = measure(args, go, workloads, variants)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    json_path = report(args, info, workloads, cells)
    print(f"\nresults: {json_path}")
    flagged = any(c.flags or c.build_error for c in cells.values())
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())

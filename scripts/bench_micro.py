#!/usr/bin/env python3
"""Per-access cost of the race runtimes, from the access_micro workload.

Builds bench/workloads/access_micro in the same variants and the same way as
scripts/bench_run.py (plain, floor, official, racert; floor and racert through the racert
CLI), runs them interleaved for --runs rounds, and reads the line the program
prints on stderr:

    access_micro ns_per_access fill=... load=... store=... rmw=... accesses=...

Those are nanoseconds per access measured by the program's own clock (the fastest
of several repetitions of each phase). The table shows, per phase, the median over
the rounds for every variant, and for official and racert their cost above the
floor (variant - floor): what the runtime itself adds to each access, Go's
instrumentation call excluded. The goal line (racert at most 0.5 ns per access
above the floor) is printed as met / not met, never asserted.

Standard library only. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_run as bench  # noqa: E402  (scripts/bench_run.py: the shared build and run machinery)

WORKLOAD = "access_micro"
PHASES = ("fill", "load", "store", "rmw")
PHASE_LABELS = {
    "fill": "fill fresh 4 KiB buffers, 1-byte stores",
    "load": "8-byte loads, long-lived slice",
    "store": "8-byte stores, long-lived slice",
    "rmw": "8-byte read-modify-write (per element)",
}
LINE_PATTERN = re.compile(r"^access_micro ns_per_access (?P<fields>.*)$", re.MULTILINE)
GOAL_NS_ABOVE_FLOOR = 0.5


def parse_line(stderr: str) -> dict[str, float] | None:
    """The phase figures of one run, or None when the line is missing or incomplete."""
    match = None
    for match in LINE_PATTERN.finditer(stderr):
        pass  # the last such line counts
    if match is None:
        return None
    values = {}
    for field in match.group("fields").split():
        name, _, value = field.partition("=")
        try:
            values[name] = float(value)
        except ValueError:
            return None
    if any(phase not in values for phase in PHASES):
        return None
    return values


def collect(cells: dict, variants: list[str]) -> tuple[dict, list[str]]:
    """Per variant and phase, the per-run figures; plus problems found reading them."""
    figures: dict[str, dict[str, list[float]]] = {}
    problems = []
    for variant in variants:
        cell = cells[(WORKLOAD, variant)]
        figures[variant] = {phase: [] for phase in PHASES}
        for number, run in enumerate(cell.runs, 1):
            if run.exit_status != 0:
                continue  # already flagged by check_outputs
            values = parse_line(run.stderr_tail)
            if values is None:
                problems.append(f"{variant} run {number}: no complete 'access_micro "
                                f"ns_per_access' line on stderr")
                continue
            for phase in PHASES:
                figures[variant][phase].append(values[phase])
    return figures, problems


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt_ns(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def fmt_signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def render(figures: dict, variants: list[str], runs: int) -> tuple[str, dict]:
    medians = {v: {p: median(figures[v][p]) for p in PHASES} for v in variants}
    above = {}
    for variant in ("official", "racert"):
        if variant in variants and "floor" in variants:
            above[variant] = {
                p: (None if medians[variant][p] is None or medians["floor"][p] is None
                    else medians[variant][p] - medians["floor"][p])
                for p in PHASES
            }
    header = ["phase", *variants, *(f"{v}-floor" for v in above)]
    rows = []
    for phase in PHASES:
        rows.append([phase, *(fmt_ns(medians[v][phase]) for v in variants),
                     *(fmt_signed(above[v][phase]) for v in above)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join([cells[0].ljust(widths[0])]
                         + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]).rstrip()

    text = [f"ns per access (median of {runs} run(s); each run: fastest of the program's "
            f"repetitions of the phase)", line(header), "-" * len(line(header))]
    text += [line(r) for r in rows]
    text.append("")
    for phase in PHASES:
        text.append(f"  {phase:<6} {PHASE_LABELS[phase]}")
    text.append("  <variant>-floor: what that runtime adds to each access beyond the cost of "
                "Go's instrumentation call itself")
    if "racert" in above:
        verdicts = []
        for phase in PHASES:
            value = above["racert"][phase]
            if value is None:
                verdict = "n/a"
            else:
                verdict = "met" if value <= GOAL_NS_ABOVE_FLOOR else "not met"
            verdicts.append(f"{phase} {fmt_signed(value)} {verdict}")
        text.append("")
        text.append(f"goal: racert <= {GOAL_NS_ABOVE_FLOOR} ns per access above the floor: "
                    + "; ".join(verdicts))
    return "\n".join(text), {"medians": medians, "above_floor": above}


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Per-access cost of the race runtimes (access_micro); see bench/README.md.")
    bench.add_measure_arguments(parser, results_prefix="micro-", variants_note="; 'above floor' needs floor")
    return bench.check_runs(parser, parser.parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    variants = bench.parse_variants(args.variants)
    go = bench.resolve_go(args.go) if variants is not None else None
    if go is None:
        return 2

    try:
        info, cells = bench.measure(args, go, [WORKLOAD], variants)
    except bench.BenchError as error:
        print(f"micro: {error}", file=sys.stderr)
        return 1
    figures, problems = collect(cells, variants)
    table, result = render(figures, variants, args.runs)
    print(table)

    whole = {v: cells[(WORKLOAD, v)].median_wall() for v in variants}
    print("\nwhole process (median wall): " + ", ".join(
        f"{v} {bench.fmt_time(whole[v])}" for v in variants))
    background = info["background_cpu_share"]
    print(f"runs took {info['runs_elapsed_s']:.0f} s; other processes used {background:.0%} of "
          f"the machine's CPU meanwhile" + (
              " -- figures are noisy, compare with care"
              if background > bench.NOISY_BACKGROUND_SHARE else ""))

    for cell in cells.values():
        if cell.build_error:
            problems.append(f"{cell.variant}: NOT BUILT: {cell.build_error.splitlines()[-1]}")
        problems.extend(f"{cell.variant}: FLAGGED: {flag}" for flag in cell.flags)
    if problems:
        print("\nProblems:")
        print("\n".join("  " + p for p in problems))

    json_path = bench.results_path(args.json, "micro-")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({
        **info,
        "options": {"variants": variants, "runs": args.runs},
        "per_run_ns_per_access": figures,
        **result,
        "whole_process_median_wall_s": whole,
        "problems": problems,
    }, indent=2) + "\n")
    print(f"\nresults: {json_path}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

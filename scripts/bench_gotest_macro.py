#!/usr/bin/env python3
"""Macro benchmark: `go test -race -short -count=1 <pkg>` with the official object vs racert.

For every package, the whole `go test` command is timed (wall clock, from start to
exit: build check, link, vet, the test binary and its exit) twice per round:

  official  `go test -race -short -count=1 -json <pkg>` with the toolchain's own GOROOT
  racert    `./racert --object <snapshot> go test -race -short -count=1 -json <pkg>`

The two are interleaved per package, and which goes first alternates from package
to package and from round to round. Before the timed rounds, one warm-up run per
package and object (`-run '^$'`: build and link, no test) fills both build caches,
so the rounds measure warm builds, as a developer re-running tests gets them.

Packages: a list of standard-library packages, plus packages of pinned third-party
modules, fetched through the Go module proxy into a scratch module under
build/gotest_macro/ (never into the repository). --quick picks a short subset;
--packages any list (third-party paths outside the pinned modules as path@version).

The table shows, per package, the median time and the result (ok / FAIL / skip /
build-fail / timeout / error) of each object, racert/official, and the number of race
reports racert printed. A package failing with both objects is listed like any
other. The target line (racert total <= official total and no package above 1.25x)
is printed as met / not met, never asserted. The exit status is 1 when racert
reported a race or a package's result differs between the objects, else 0.

Standard library only. See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_run as bench  # noqa: E402  (scripts/bench_run.py: paths, object snapshots, load accounting)

WORK_DIR = bench.BUILD_DIR / "gotest_macro"
VARIANTS = ("official", "racert")

# Third-party modules, pinned: their packages are tested at exactly these versions.
PINNED_MODULES = {
    "go.etcd.io/bbolt": "v1.5.0",
    "github.com/prometheus/client_golang": "v1.25.0",
    "go.uber.org/zap": "v1.28.0",
    "golang.org/x/sync": "v0.25.0",
}

STD_PACKAGES = [
    "math/big", "runtime/pprof", "net", "time", "os", "sync/atomic", "encoding/json",
    "compress/flate", "sync", "context", "strings", "bytes", "strconv", "fmt", "bufio",
    "regexp", "sort", "encoding/binary", "encoding/base64", "hash/crc32", "crypto/sha256",
    "text/template", "path/filepath", "container/list", "io", "errors",
]
THIRD_PARTY_PACKAGES = [
    "go.etcd.io/bbolt",
    "github.com/prometheus/client_golang/prometheus",
    "go.uber.org/zap",
    "go.uber.org/zap/zapcore",
    "golang.org/x/sync/errgroup",
    "golang.org/x/sync/semaphore",
    "golang.org/x/sync/singleflight",
]
QUICK_PACKAGES = [
    "sync/atomic", "encoding/json", "strconv", "container/list",
    "golang.org/x/sync/errgroup", "golang.org/x/sync/singleflight",
    "github.com/prometheus/client_golang/prometheus",
]

TARGET_MAX_PACKAGE_RATIO = 1.25
RACE_MARKER = "WARNING: DATA RACE"


# --- Packages and the scratch module ----------------------------------------------


def snapshot_object(racert_object: Path) -> Path:
    """A copy of the object under WORK_DIR/objects, so that a rebuild of
    build/race_linux.syso during the run changes nothing. Named by content and put
    in place by a rename, so that two runs at once never see each other's
    half-written copy."""
    snapshot_dir = WORK_DIR / "objects"
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    digest = bench.sha256_of(racert_object)
    snapshot = snapshot_dir / f"racert-{digest[:16]}.syso"
    if not snapshot.is_file() or bench.sha256_of(snapshot) != digest:
        partial = snapshot_dir / f".racert-{os.getpid()}.partial"
        shutil.copyfile(racert_object, partial)
        if bench.sha256_of(partial) != digest:
            partial.unlink()
            raise bench.BenchError(f"{racert_object} changed while it was being copied; run again")
        os.replace(partial, snapshot)
    return snapshot


def is_std(package: str) -> bool:
    return "." not in package.split("/", 1)[0]


def split_version(package: str) -> tuple[str, str | None]:
    path, _, version = package.partition("@")
    return path, version or None


def module_query(package: str) -> str:
    """The `go get` argument that brings in a third-party package at its pinned version."""
    path, version = split_version(package)
    if version:
        return f"{path}@{version}"
    for module, pinned in PINNED_MODULES.items():
        if path == module or path.startswith(module + "/"):
            return f"{path}@{pinned}"
    raise bench.BenchError(f"{path} is in none of the pinned modules "
                           f"({', '.join(PINNED_MODULES)}); name it as {path}@VERSION")


def go_environment(go: str) -> dict[str, str]:
    env = bench.build_environment(go)  # no inherited GOROOT/RACERT_OBJECT, GOWORK=off, GOTOOLCHAIN=local
    env.pop("GOMAXPROCS", None)
    return env


def prepare_module(go: str, go_version_word: str, third_party: list[str]) -> Path:
    """A scratch module (one per Go version) requiring the third-party packages with
    their test dependencies. Every go command runs in it, standard packages included."""
    module_dir = WORK_DIR / f"module-{go_version_word}"
    module_dir.mkdir(parents=True, exist_ok=True)
    env = go_environment(go)
    if not (module_dir / "go.mod").is_file():
        result = subprocess.run([go, "mod", "init", "racertbench.invalid/gotestmacro"],
                                cwd=module_dir, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            raise bench.BenchError(f"go mod init failed:\n{result.stdout}")
    if third_party:
        queries = [module_query(p) for p in third_party]
        result = subprocess.run([go, "get", "-t", *queries], cwd=module_dir, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0:
            # Not fatal: those packages will show up as failing with both objects.
            print(f"warning: go get -t {' '.join(queries)} failed:\n{result.stdout.strip()}",
                  file=sys.stderr)
    return module_dir


# --- Running one go test ----------------------------------------------------------------


class Outcome:
    """One `go test` run of one package with one object."""

    def __init__(self, package: str, variant: str, wall_s: float, exit_status: int,
                 result: str, races: int, failed_tests: list[str], test_elapsed_s: float | None,
                 tail: str):
        self.package = package
        self.variant = variant
        self.wall_s = wall_s
        self.exit_status = exit_status
        self.result = result
        self.races = races
        self.failed_tests = failed_tests
        self.test_elapsed_s = test_elapsed_s
        self.tail = tail

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def parse_test_json(package: str, stdout: str, stderr: str, exit_status: int,
                    timed_out: bool) -> tuple[str, int, list[str], float | None, str]:
    """(result, race reports, failed tests, elapsed reported by the test, output tail)."""
    outputs: list[str] = []
    failed_tests: list[str] = []
    result = None
    elapsed = None
    build_failed = False
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            outputs.append(line + "\n")  # go's own messages may be plain text
            continue
        if not isinstance(event, dict):
            continue
        action = event.get("Action")
        if isinstance(event.get("Output"), str):
            outputs.append(event["Output"])
        if action == "build-fail":
            build_failed = True
        if event.get("Test"):
            if action == "fail" and event["Test"] not in failed_tests:
                failed_tests.append(event["Test"])
            continue
        if action in ("pass", "fail", "skip") and event.get("Package") in (package, None):
            result = {"pass": "ok", "fail": "FAIL", "skip": "skip"}[action]
            if isinstance(event.get("Elapsed"), (int, float)):
                elapsed = float(event["Elapsed"])
            if event.get("FailedBuild"):
                build_failed = True
    text = "".join(outputs) + stderr
    races = text.count(RACE_MARKER)
    if timed_out:
        result = "timeout"
    elif build_failed or "[build failed]" in text or "[setup failed]" in text:
        result = "build-fail"
    elif result is None:
        result = "ok" if exit_status == 0 else "error"
    elif result == "ok" and exit_status != 0:
        result = "error"
    tail = "\n".join(text.strip().splitlines()[-15:])
    return result, races, failed_tests, elapsed, tail


def go_test_command(variant: str, go: str, snapshot: Path | None, package: str,
                    extra: list[str], timeout_s: float) -> list[str]:
    test_args = ["test", "-race", "-short", "-count=1", "-json",
                 f"-timeout={int(timeout_s)}s", *extra, package]
    if variant == "official":
        return [go, *test_args]
    return [str(bench.RACERT_CLI), "--object", str(snapshot), "go", *test_args]


def run_go_test(variant: str, go: str, snapshot: Path | None, package: str, module_dir: Path,
                env: dict[str, str], timeout_s: float, extra: list[str] | None = None) -> Outcome:
    path, _ = split_version(package)
    command = go_test_command(variant, go, snapshot, path, extra or [], timeout_s)
    started = time.perf_counter()
    # A session of its own, so that on a timeout the go command and the test binary
    # it started can be ended together, by this process group's id.
    process = subprocess.Popen(command, cwd=module_dir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, errors="replace",
                               start_new_session=True)
    timed_out = False
    try:
        # go test's own -timeout fires first and prints the stuck goroutines; this is
        # the backstop.
        stdout, stderr = process.communicate(timeout=timeout_s + 60)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    wall = time.perf_counter() - started
    result, races, failed, elapsed, tail = parse_test_json(path, stdout, stderr,
                                                           process.returncode, timed_out)
    if result == "error" and "panic: test timed out" in tail:
        result = "timeout"
    return Outcome(path, variant, wall, process.returncode, result, races, failed, elapsed, tail)


def check_objects(go: str, snapshot: Path, module_dir: Path, env: dict[str, str]) -> None:
    """Refuses to measure when official does not link ThreadSanitizer or racert does."""
    check_dir = WORK_DIR / "check"
    check_dir.mkdir(parents=True, exist_ok=True)
    for variant in VARIANTS:
        output = check_dir / f"{variant}.test"
        output.unlink(missing_ok=True)
        if variant == "official":
            command = [go, "test", "-race", "-c", "-o", str(output), "sync/atomic"]
        else:
            command = [str(bench.RACERT_CLI), "--object", str(snapshot), "go", "test", "-race",
                       "-c", "-o", str(output), "sync/atomic"]
        result = subprocess.run(command, cwd=module_dir, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        if result.returncode != 0 or not output.is_file():
            raise bench.BenchError(f"cannot build a test binary with the {variant} object:\n"
                                   f"$ {' '.join(command)}\n{result.stdout.strip()}")
        has_official = bench.OFFICIAL_RUNTIME_MARKER in output.read_bytes()
        output.unlink()
        if variant == "official" and not has_official:
            raise bench.BenchError("the official test binary does not contain ThreadSanitizer")
        if variant == "racert" and has_official:
            raise bench.BenchError("the racert test binary contains ThreadSanitizer: the object "
                                   "was not substituted")


# --- Report ------------------------------------------------------------------------


def combined_result(outcomes: list[Outcome]) -> str:
    counts = collections.Counter(o.result for o in outcomes)
    if len(counts) == 1:
        return next(iter(counts))
    return ",".join(f"{r} {n}/{len(outcomes)}" for r, n in counts.most_common())


def tests_ran(result: str) -> bool:
    """True for ok, FAIL and mixtures of the two (the test binary ran to its end)."""
    return all(part.split()[0] in ("ok", "FAIL") for part in result.split(","))


def summarize(packages: list[str], outcomes: dict[tuple[str, str], list[Outcome]]) -> dict:
    rows = []
    for package in packages:
        row = {"package": package}
        for variant in VARIANTS:
            runs = outcomes.get((package, variant), [])
            timed = [o.wall_s for o in runs if o.result not in ("timeout",)]
            row[variant] = {
                "median_s": statistics.median(timed) if timed else None,
                "result": combined_result(runs) if runs else "-",
                "races": max((o.races for o in runs), default=0),
                "failed_tests": sorted({t for o in runs for t in o.failed_tests}),
            }
        o, r = row["official"]["median_s"], row["racert"]["median_s"]
        row["ratio"] = r / o if o and r is not None else None
        rows.append(row)
    # Only packages whose tests ran with both objects count towards the total and the
    # target: a build failure, a timeout or a package without tests says nothing about
    # the runtimes' speed.
    both = [row for row in rows if row["ratio"] is not None
            and all(tests_ran(row[v]["result"]) for v in VARIANTS)]
    official_total = sum(row["official"]["median_s"] for row in both)
    racert_total = sum(row["racert"]["median_s"] for row in both)
    above = [(row["package"], row["ratio"]) for row in both
             if row["ratio"] > TARGET_MAX_PACKAGE_RATIO]
    total_ratio = racert_total / official_total if official_total else None
    met = bool(both) and racert_total <= official_total and not above
    differences = [row["package"] for row in rows
                   if row["official"]["result"] != row["racert"]["result"]]
    return {
        "rows": rows,
        "official_total_s": official_total,
        "racert_total_s": racert_total,
        "total_ratio": total_ratio,
        "packages_in_total": len(both),
        "above_max_ratio": above,
        "target_met": met,
        "result_differences": differences,
        "racert_races": sum(row["racert"]["races"] for row in rows),
        "official_races": sum(row["official"]["races"] for row in rows),
    }


def render(summary: dict, rounds: int) -> str:
    header = ["package", "official", "result", "racert", "result", "racert/official",
              "races"]
    lines = []
    for row in summary["rows"]:
        lines.append([
            row["package"],
            bench.fmt_time(row["official"]["median_s"]), row["official"]["result"],
            bench.fmt_time(row["racert"]["median_s"]), row["racert"]["result"],
            bench.fmt_ratio(row["ratio"]),
            str(row["racert"]["races"]),
        ])
    complete = summary["packages_in_total"] == len(summary["rows"])
    total = ["total" if complete else "total (see below)",
             bench.fmt_time(summary["official_total_s"]), "",
             bench.fmt_time(summary["racert_total_s"]), "",
             bench.fmt_ratio(summary["total_ratio"]), str(summary["racert_races"])]
    widths = [max(len(line[i]) for line in [header, *lines, total]) for i in range(len(header))]
    left_aligned = {0, 2, 4}

    def render_line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in left_aligned else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(render_line(header))
    text = [render_line(header), rule, *(render_line(line) for line in lines), rule,
            render_line(total), ""]
    text.append(f"time: median wall time of `go test -race -short -count=1 <pkg>` over {rounds} "
                f"round(s) (warm build caches); races: race reports printed with racert.")
    if summary["packages_in_total"] < len(summary["rows"]):
        left_out = [row["package"] for row in summary["rows"]
                    if not all(tests_ran(row[v]["result"]) for v in VARIANTS)]
        text.append(f"total and target: over the {summary['packages_in_total']} package(s) "
                    f"whose tests ran (ok or FAIL) with both objects; left out: "
                    f"{', '.join(left_out)}.")
    above = ", ".join(f"{p} ({r:.2f})" for p, r in summary["above_max_ratio"]) or "none"
    text.append(f"target: racert total <= official total and no package above "
                f"{TARGET_MAX_PACKAGE_RATIO}x: {'met' if summary['target_met'] else 'NOT MET'} "
                f"(total ratio {bench.fmt_ratio(summary['total_ratio'])}; above "
                f"{TARGET_MAX_PACKAGE_RATIO}x: {above})")
    notes = []
    for row in summary["rows"]:
        for variant in VARIANTS:
            if row[variant]["failed_tests"]:
                shown = row[variant]["failed_tests"][:6]
                more = len(row[variant]["failed_tests"]) - len(shown)
                notes.append(f"{row['package']} ({variant}) failed: {', '.join(shown)}"
                             + (f" and {more} more" if more > 0 else ""))
        if row["official"]["races"]:
            notes.append(f"{row['package']}: the official runtime reported "
                         f"{row['official']['races']} race(s)")
    if summary["result_differences"]:
        notes.append("results differ between the objects: "
                     + ", ".join(summary["result_differences"]))
    if notes:
        text.append("")
        text.append("Notes:")
        text.extend("  " + n for n in notes)
    return "\n".join(text)


# --- Main ---------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `go test -race -short` per package, official object vs racert "
                    "(see bench/README.md).")
    selection = parser.add_mutually_exclusive_group()
    selection.add_argument("--packages",
                           help="comma-separated import paths (third-party ones from the pinned "
                                "modules, or as path@version); default: the full list")
    selection.add_argument("--quick", action="store_true",
                           help=f"a short subset: {', '.join(QUICK_PACKAGES)}")
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds (default: 1)")
    bench.add_go_arguments(parser, 600.0, "seconds one go test may take")
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the warm-up builds (timings then include compiling)")
    parser.add_argument("--no-exit-sleep", action="store_true",
                        help="append atexit_sleep_ms=0 to GORACE for both objects (default: "
                             "GORACE as you have it, as a developer's go test runs)")
    parser.add_argument("--json", type=Path,
                        help="where to write results (default: "
                             "bench/results/gotest-<timestamp>.json)")
    parser.add_argument("--list", action="store_true", help="print the package lists and exit")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


@dataclass
class Setup:
    """What every run of one invocation uses."""
    go: str
    version_text: str
    snapshot: Path  # the racert object, copied
    module_dir: Path
    env: dict[str, str]


def chosen_packages(args: argparse.Namespace) -> list[str]:
    if args.packages:
        return [p.strip() for p in args.packages.split(",") if p.strip()]
    if args.quick:
        return list(QUICK_PACKAGES)
    return STD_PACKAGES + THIRD_PARTY_PACKAGES


def prepare(args: argparse.Namespace, go: str, packages: list[str]) -> Setup:
    """Checks what the runs need, copies the object and prepares the scratch
    module; raises bench.BenchError with what is missing."""
    third_party = [p for p in packages if not is_std(split_version(p)[0])]
    for package in third_party:
        module_query(package)  # unknown modules are an error before anything runs
    racert_object = args.racert_object.resolve()
    if not racert_object.is_file():
        raise bench.BenchError(f"{racert_object} does not exist (./build_syso.sh builds it)")
    if not bench.RACERT_CLI.is_file():
        raise bench.BenchError(f"{bench.RACERT_CLI} is missing")
    version_text = bench.go_version(go)
    version_word = next((w for w in version_text.split() if w.startswith("go1")), "go")
    snapshot = snapshot_object(racert_object)
    module_dir = prepare_module(go, version_word, third_party)
    env = go_environment(go)
    if args.no_exit_sleep:
        env["GORACE"] = " ".join(filter(None, [env.get("GORACE", "").strip(),
                                               "atexit_sleep_ms=0"]))
    check_objects(go, snapshot, module_dir, env)
    return Setup(go, version_text, snapshot, module_dir, env)


def warm_up(setup: Setup, packages: list[str], timeout: float) -> None:
    """Builds every package's test binary with each object (running no test)."""
    for package in packages:
        for variant in VARIANTS:
            outcome = run_go_test(variant, setup.go, setup.snapshot, package, setup.module_dir,
                                  setup.env, timeout, extra=["-run", "^$"])
            print(f"warm-up {package} ({variant}): {outcome.result} "
                  f"{outcome.wall_s:.1f} s", file=sys.stderr, flush=True)


def timed_rounds(setup: Setup, packages: list[str], rounds: int,
                 timeout: float) -> tuple[dict[tuple[str, str], list[Outcome]], float, float]:
    """Runs every package with each object `rounds` times, alternating which
    object goes first. Returns the outcomes by (package, variant), the wall
    time, and the share of the machine's CPU other processes used meanwhile."""
    outcomes: dict[tuple[str, str], list[Outcome]] = collections.defaultdict(list)
    busy_before, started = bench.machine_busy_seconds(), time.perf_counter()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = len(packages) * len(VARIANTS) * rounds
    done = 0
    for round_index in range(rounds):
        for index, package in enumerate(packages):
            order = VARIANTS if (round_index + index) % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                outcome = run_go_test(variant, setup.go, setup.snapshot, package, setup.module_dir,
                                      setup.env, timeout)
                outcomes[(split_version(package)[0], variant)].append(outcome)
                done += 1
                races = f", {outcome.races} race(s)" if outcome.races else ""
                print(f"[{done}/{total}] round {round_index + 1} {package} {variant}: "
                      f"{outcome.result} {outcome.wall_s:.1f} s{races}",
                      file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs_cpu = ((children_after.ru_utime + children_after.ru_stime)
                - (children_before.ru_utime + children_before.ru_stime))
    background = bench.background_cpu_share(busy_before, bench.machine_busy_seconds(),
                                            elapsed, runs_cpu)
    return outcomes, elapsed, background


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    if args.list:
        print("full:  " + " ".join(STD_PACKAGES + THIRD_PARTY_PACKAGES))
        print("quick: " + " ".join(QUICK_PACKAGES))
        print("pinned modules: " + " ".join(f"{m}@{v}" for m, v in PINNED_MODULES.items()))
        return 0
    packages = chosen_packages(args)
    go = args.go or shutil.which("go")
    if not go:
        print("no go binary: put go on PATH or pass --go", file=sys.stderr)
        return 2
    try:
        setup = prepare(args, str(Path(go).resolve()), packages)
    except bench.BenchError as error:
        print(f"gotest_macro: {error}", file=sys.stderr)
        return 1

    info = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "go": setup.go,
        "go_version": setup.version_text,
        "cpus": os.cpu_count(),
        "racert_object": {"path": str(args.racert_object.resolve()),
                          "sha256": bench.sha256_of(setup.snapshot)},
        "pinned_modules": PINNED_MODULES,
        "gorace": setup.env.get("GORACE", ""),
        "load_average_before": os.getloadavg(),
    }
    print(f"{setup.version_text}; {len(packages)} package(s) x {len(VARIANTS)} object(s) x "
          f"{args.rounds} round(s); racert object {info['racert_object']['path']} sha256 "
          f"{info['racert_object']['sha256'][:12]}; GORACE={info['gorace']!r}", file=sys.stderr)

    if not args.no_warmup:
        warm_up(setup, packages, args.timeout)
    outcomes, elapsed, background = timed_rounds(setup, packages, args.rounds, args.timeout)

    names = [split_version(p)[0] for p in packages]
    summary = summarize(names, outcomes)
    print(render(summary, args.rounds))
    print(f"\nruns took {elapsed:.0f} s; other processes used {background:.0%} of the machine's "
          f"CPU meanwhile" + (" -- times are noisy, compare with care"
                              if background > bench.NOISY_BACKGROUND_SHARE else ""))

    info["runs_elapsed_s"] = elapsed
    info["background_cpu_share"] = background
    json_path = bench.results_path(args.json, "gotest-")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({
        **info,
        "options": {"packages": names, "rounds": args.rounds, "warmup": not args.no_warmup},
        **summary,
        "runs": [o.as_dict() for runs in outcomes.values() for o in runs],
    }, indent=2) + "\n")
    print(f"\nresults: {json_path}")
    return 1 if summary["racert_races"] or summary["result_differences"] else 0


if __name__ == "__main__":
    sys.exit(main())

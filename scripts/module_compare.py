#!/usr/bin/env python3
"""Compare `go test -race -short` of third-party modules' packages: official object vs racert.

Each pinned module (MODULES below) gets a scratch module of its own under
build/module_compare/ that requires exactly that version, with the test
dependencies of the packages tested (`go get -t`, through the Go module
proxy). One scratch module per pinned module keeps every version as pinned:
two pinned modules never raise each other's dependencies. Then, one package at
a time,

    go test -race -short -count=1 -json -timeout=<T>s <package>

runs with the toolchain's own object (official) and through `racert go` with
racert's object, and one table is printed: package, official result and time,
racert result and time, race reports of each, same?

Times are the test binary's own (go test's Elapsed: no compiling, no linking).
Race reports are written through GORACE log_path into the run's log directory
and counted there (plus any printed on the output), so each report is kept.

Every result is cached under build/module_compare/cache/<go version>/, keyed by
the object's sha256 (the official object's too), the module version and the
package: an interrupted or time-limited run goes on where it stopped when run
again, and rebuilding racert's object re-runs only racert's side.

A package failing with both objects in the same way (same result, same failed
tests: missing fixtures, a read-only module cache, no network) is listed as
excluded, with its failing tests, never dropped silently. Everything else
that differs is a difference: a racert-only failure, a racert-only race report,
or different failing tests. A difference is run again once on both sides
(--recheck 0 turns that off) and shown with every attempt. It counts as flaky
when the last attempts agree, or when the official object failed in some
attempt too, no test failed only with racert in every racert attempt, racert
reported no race that the official did not, and racert did not time out (or
fail to build or run) every time while the official never did: timing-dependent
tests on a loaded machine fail in varying sets with either object.

A difference that was triaged is listed in EXPLAINED below: the package, the
tests that fail only with racert, text that every racert-only race report
contains, why it is not a racert error, and the command that shows it. A row
whose every racert attempt matches its entry (no other racert-only failure,
every report logged and matching) counts as explained, not different; the
table prints the explanation and the command.

Usage:
    scripts/module_compare.py                      # every module, in list order
    scripts/module_compare.py --modules zap,bbolt  # names are substrings of module paths
    scripts/module_compare.py --modules grpc --packages internal/transport
    scripts/module_compare.py --budget-minutes 40  # start no package after 40 minutes
    scripts/module_compare.py --list               # prepare the modules, print the packages
    scripts/module_compare.py --report             # the table from the cache, run nothing

Options: --packages SUBSTRINGS, --go PATH, --racert-object FILE (default build/race_linux.syso),
--timeout S (per package and object; default the module's timeout_s, else 300),
--recheck N, --tail N.
Exit status: 1 when a difference was found, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import bench_gotest_macro as macro  # noqa: E402  (fetching modules, running one go test)
import bench_run as bench  # noqa: E402  (paths, go version, sha256)

WORK_DIR = bench.BUILD_DIR / "module_compare"
VARIANTS = macro.VARIANTS  # ("official", "racert")
RACE_MARKER = macro.RACE_MARKER


@dataclass
class Module:
    path: str
    version: str
    # Packages to test, relative to the module path ("." is the module's root
    # package); None: every package of the module that has test files.
    packages: list[str] | None = None
    why: str = ""
    # Seconds one go test of this module may take when --timeout is not given
    # (None: the default, DEFAULT_TIMEOUT_S).
    timeout_s: float | None = None

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9.]+", "_", self.path)


# The first eleven are the modules of the first spot check; the others were added
# for their concurrent code (pools, caches, servers, transports, rate limiters).
# Versions: the newest that the Go module proxy serves and go 1.26 accepts.
MODULES = [
    Module("golang.org/x/sync", "v0.25.0"),
    Module("golang.org/x/time", "v0.16.0"),
    Module("github.com/hashicorp/golang-lru/v2", "v2.0.7"),
    Module("github.com/sourcegraph/conc", "v0.3.0"),
    Module("github.com/golang/groupcache", "v0.0.0-20241129210726-2c02b8208cf8"),
    Module("go.uber.org/zap", "v1.28.0"),
    Module("github.com/dgraph-io/ristretto/v2", "v2.4.2"),
    Module("github.com/hashicorp/raft", "v1.8.0"),
    Module("github.com/prometheus/client_golang", "v1.25.0"),
    Module("go.etcd.io/bbolt", "v1.5.0", [".", "internal/common", "internal/freelist"],
           why="the root package is the database; cmd/ and internal/tests are tools"),
    Module("github.com/panjf2000/ants/v2", "v2.12.1"),
    Module("go.uber.org/ratelimit", "v0.3.1"),
    Module("github.com/patrickmn/go-cache", "v2.1.0+incompatible"),
    Module("go.uber.org/atomic", "v1.12.0"),
    # v4.3.0 cannot be tested: its example_test.go names a function that v4 does not have.
    Module("github.com/cenkalti/backoff/v5", "v5.0.3"),
    Module("github.com/gorilla/websocket", "v1.5.3"),
    Module("github.com/puzpuzpuz/xsync/v4", "v4.5.0"),
    Module("github.com/allegro/bigcache/v3", "v3.1.0"),
    Module("github.com/hashicorp/yamux", "v0.1.2"),
    Module("github.com/sony/gobreaker/v2", "v2.4.0"),
    Module("github.com/VictoriaMetrics/fastcache", "v1.13.2"),
    Module("github.com/hashicorp/go-memdb", "v1.3.5"),
    Module("go.uber.org/goleak", "v1.3.0"),
    Module("golang.org/x/net", "v0.62.0",
           ["http2", "http2/hpack", "context/ctxhttp", "netutil", "websocket", "trace",
            "internal/timeseries", "nettest", "proxy"],
           why="the packages with goroutines and servers; ipv4/ipv6/icmp need raw sockets"),
    Module("github.com/valyala/fasthttp", "v1.78.0",
           [".", "fasthttputil", "stackless", "expvarhandler", "fasthttpadaptor", "reuseport"],
           why="prefork forks the test binary; fasthttpproxy needs a proxy"),
    Module("google.golang.org/grpc", "v1.85.0",
           [".", "internal/transport", "internal/grpcsync", "internal/buffer",
            "internal/wrr", "balancer/roundrobin", "internal/balancer/gracefulswitch",
            "internal/idle", "health", "metadata", "keepalive"],
           why="a selection: the module has ~200 packages (test/ alone takes an hour)"),
    Module("go.etcd.io/etcd/client/v3", "v3.7.3"),
    Module("github.com/dgraph-io/badger/v4", "v4.9.6",
           [".", "skl", "y", "table", "trie"],
           why="the store, its skiplist, utilities, tables; badger/cmd are tools",
           timeout_s=1200),
]

DEFAULT_TIMEOUT_S = 300.0


@dataclass
class Explained:
    """A triaged racert-only difference (see the module docstring)."""
    package: str
    tests: frozenset[str]  # tests allowed to fail only with racert
    signatures: tuple[str, ...]  # every racert-only race report contains each
    why: str
    reproduce: str


EXPLAINED = [
    Explained(
        "google.golang.org/grpc/internal/transport",
        frozenset({"Test", "Test/RecvBufferCompactionDisabled"}),
        # The write (SetEnvConfig or its cleanup) and the reading goroutine's
        # creation at `go performOneRPC(ct)` (in the whole package's run the
        # read's own stack is older than the default history).
        ("testutils.SetEnvConfig", "internal/transport/transport_test.go:936 "),
        why="a true race in the tests: TestClientMix starts 750 `go performOneRPC(ct)` and "
            "joins none; their reads of envconfig.EnableReceiveBufferCompaction (recvBuffer.load, "
            "compactBacklogLocked) are ordered before nothing that the later "
            "TestRecvBufferCompactionDisabled does when its testutils.SetEnvConfig writes the "
            "variable. With 200 RPCs instead of 750 the official object reports that write too "
            "(against the transport reader goroutine's read of the variable). With 750 it also "
            "misses a control goroutine that writes once and synchronizes with nothing: its "
            "silence is history lost in the goroutine churn (ThreadSanitizer's slot reuse), "
            "not an ordering racert misses",
        reproduce="scripts/grpc_envconfig_race.py"),
]


# --- Preparing modules ----------------------------------------------------------------


def module_dir_of(go_word: str, module: Module) -> Path:
    # bench_gotest_macro.prepare_module makes WORK_DIR/module-<word>.
    return WORK_DIR / f"module-{go_word}-{module.slug}@{module.version}"


def list_test_packages(go: str, env: dict[str, str], module_dir: Path, module: Module) -> list[str]:
    """Import paths of the module's packages that have test files."""
    result = subprocess.run(
        [go, "list", "-e", "-f", "{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}",
         module.path + "/..."],
        cwd=module_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    packages = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if not packages and result.returncode != 0:
        print(f"warning: go list {module.path}/... failed:\n{result.stderr.strip()}",
              file=sys.stderr)
    return sorted(packages)


def prepare(go: str, go_word: str, env: dict[str, str], module: Module) -> tuple[Path, list[str]]:
    """The scratch module for one pinned module and the packages to test in it."""
    module_dir = module_dir_of(go_word, module)
    listing = module_dir / "racert-packages.json"
    if listing.is_file():
        return module_dir, json.loads(listing.read_text())
    # The module itself first, so that its packages can be listed.
    macro.prepare_module(go, f"{go_word}-{module.slug}@{module.version}",
                         [f"{module.path}@{module.version}"])
    if module.packages is None:
        packages = list_test_packages(go, env, module_dir, module)
    else:
        packages = [module.path if p == "." else f"{module.path}/{p}" for p in module.packages]
    if packages:
        # Then the test dependencies of every package to test.
        macro.prepare_module(go, f"{go_word}-{module.slug}@{module.version}",
                             [f"{p}@{module.version}" for p in packages])
    listing.write_text(json.dumps(packages))
    return module_dir, packages


# --- Running and caching ---------------------------------------------------------------


@dataclass
class Result:
    package: str
    variant: str
    result: str  # ok, FAIL, skip, build-fail, timeout, error
    wall_s: float
    test_s: float | None
    races: int
    failed_tests: list[str]
    tail: str
    log_dir: str
    attempt: int = 1

    @property
    def seconds(self) -> float:
        return self.test_s if self.test_s is not None else self.wall_s


@dataclass
class Row:
    module: Module
    package: str
    results: dict[str, list[Result]] = field(default_factory=dict)

    def first(self, variant: str) -> Result | None:
        runs = self.results.get(variant) or []
        return runs[0] if runs else None

    def latest(self, variant: str) -> Result | None:
        runs = self.results.get(variant) or []
        return runs[-1] if runs else None


def agree(official: Result, racert: Result) -> bool:
    if official.result != racert.result:
        return False
    if racert.races and not official.races:
        return False
    if official.result == "FAIL":
        # Race failures aside (counted above), the same tests must fail.
        return set(official.failed_tests) == set(racert.failed_tests)
    return True


def classify(row: Row) -> str:
    """same, excluded (fails with both alike), flaky (differed, then agreed), explained
    (a difference listed in EXPLAINED) or DIFFERENT."""
    verdict = classify_unexplained(row)
    if verdict == "DIFFERENT" and explanation_of(row) is not None:
        return "explained"
    return verdict


def logged_reports(log_dir: Path) -> list[str]:
    """The race reports written through GORACE log_path, one string each."""
    reports = []
    for path in sorted(log_dir.glob("race.*")):
        if path.is_file():
            reports += [RACE_MARKER + part for part in
                        path.read_text(errors="replace").split(RACE_MARKER)[1:]]
    return reports


def explanation_of(row: Row) -> Explained | None:
    """The EXPLAINED entry every racert attempt of the row matches, if any."""
    entry = next((e for e in EXPLAINED if e.package == row.package), None)
    if entry is None or not row.results.get("racert"):
        return None
    official_failed = {t for r in row.results.get("official", []) for t in r.failed_tests}
    for result in row.results["racert"]:
        if result.result not in ("ok", "FAIL"):
            return None
        if not set(result.failed_tests) - official_failed <= entry.tests:
            return None
        reports = logged_reports(Path(result.log_dir)) if result.log_dir else []
        if len(reports) != result.races:
            return None  # a report not in the log cannot be checked
        if not all(all(sig in report for sig in entry.signatures) for report in reports):
            return None
    return entry


def classify_unexplained(row: Row) -> str:
    official, racert = row.first("official"), row.first("racert")
    if official is None or racert is None:
        return "not run"
    if agree(official, racert):
        return "same" if official.result in ("ok", "skip") else "excluded"
    later_o, later_r = row.latest("official"), row.latest("racert")
    if later_o is official or later_r is racert:
        return "DIFFERENT"  # not run again
    if agree(later_o, later_r):
        return "flaky"
    if racert_only_races(row) or racert_only_failures(row):
        return "DIFFERENT"
    racert_broken = {r.result for r in row.results["racert"]} <= {"timeout", "error", "build-fail"}
    official_broken = any(r.result in ("timeout", "error", "build-fail")
                          for r in row.results["official"])
    if racert_broken and not official_broken:
        return "DIFFERENT"
    if any(r.result not in ("ok", "skip") for r in row.results["official"]):
        # Both objects failed at times, in varying tests (timing-dependent tests on a
        # loaded machine), and no test failed only with racert every time.
        return "flaky"
    return "DIFFERENT"


def racert_only_failures(row: Row) -> set[str]:
    """Tests that failed in every racert attempt and in no official attempt."""
    racert = [set(r.failed_tests) for r in row.results.get("racert", [])]
    always = set.intersection(*racert) if racert else set()
    return always - {t for r in row.results.get("official", []) for t in r.failed_tests}


def racert_only_races(row: Row) -> bool:
    return (any(r.races for r in row.results.get("racert", []))
            and not any(r.races for r in row.results.get("official", [])))


def count_logged_races(log_dir: Path) -> int:
    return sum(p.read_text(errors="replace").count(RACE_MARKER)
               for p in log_dir.glob("race.*") if p.is_file())


def run_one(variant: str, go: str, snapshot: Path, package: str, module_dir: Path,
            env: dict[str, str], timeout_s: float, log_dir: Path, attempt: int) -> Result:
    if log_dir.exists():
        shutil.rmtree(log_dir)
    log_dir.mkdir(parents=True)
    run_env = dict(env)
    run_env["GORACE"] = " ".join(filter(None, [env.get("GORACE", "").strip(),
                                               f"log_path={log_dir / 'race'}"]))
    outcome = macro.run_go_test(variant, go, snapshot, package, module_dir, run_env, timeout_s)
    races = outcome.races + count_logged_races(log_dir)
    (log_dir / "tail.txt").write_text(outcome.tail + "\n")
    return Result(package, variant, outcome.result, outcome.wall_s, outcome.test_elapsed_s,
                  races, outcome.failed_tests, outcome.tail, str(log_dir), attempt)


def cache_path(cache_dir: Path, variant: str, digest: str, module: Module, package: str,
               attempt: int) -> Path:
    name = re.sub(r"[^A-Za-z0-9.@_-]+", "_", f"{package}@{module.version}")
    return cache_dir / f"{variant}-{digest[:16]}" / f"{name}.{attempt}.json"


def load_cached(path: Path) -> Result | None:
    try:
        return Result(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def official_object(go: str) -> Path:
    goroot = subprocess.run([go, "env", "GOROOT"], stdout=subprocess.PIPE, text=True,
                            env=macro.go_environment(go), check=True).stdout.strip()
    for relative in ("src/runtime/race/internal/amd64v1/race_linux.syso",
                     "src/runtime/race/race_linux_amd64.syso"):
        candidate = Path(goroot) / relative
        if candidate.is_file():
            return candidate
    raise bench.BenchError(f"no linux/amd64 race object in {goroot}")


# --- Report --------------------------------------------------------------------------------


def cell(result: Result | None) -> str:
    if result is None:
        return "-"
    text = f"{result.result} {result.seconds:.1f}s"
    if result.races:
        text += f" ({result.races} race)"
    return text


def render(rows: list[Row], not_run: list[str], tail_lines: int) -> str:
    header = ("module/package", "official", "racert", "racert races", "same?")
    lines = []
    for row in rows:
        official, racert = row.first("official"), row.first("racert")
        verdict = classify(row)
        lines.append((row.package, cell(official), cell(racert),
                      str(racert.races if racert else "-"),
                      {"same": "yes", "excluded": "both fail"}.get(verdict, verdict)))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths)),
           "-+-".join("-" * w for w in widths)]
    out += [" | ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]

    verdicts = [classify(row) for row in rows]
    compared = [r for r, v in zip(rows, verdicts) if v != "not run"]
    modules = sorted({row.module.path for row in compared})
    same = verdicts.count("same")
    official_time = sum(r.first("official").seconds for r in compared)
    racert_time = sum(r.first("racert").seconds for r in compared)
    out.append("")
    out.append(f"{len(compared)} packages of {len(modules)} modules compared: {same} same "
               f"(ok or no tests with both), {verdicts.count('excluded')} failing with both "
               f"alike (excluded), {verdicts.count('flaky')} differed once then agreed, "
               f"{verdicts.count('explained')} explained, "
               f"{verdicts.count('DIFFERENT')} different.")
    out.append(f"race reports: racert {sum(r.first('racert').races for r in compared)}, "
               f"official {sum(r.first('official').races for r in compared)}; test time: "
               f"official {official_time:.0f}s, racert {racert_time:.0f}s "
               f"(the test binaries' own time, first attempts)")
    if not_run:
        out.append(f"not run yet ({len(not_run)}): {' '.join(not_run)}")

    excluded = [r for r, v in zip(rows, verdicts) if v == "excluded"]
    if excluded:
        out.append("")
        out.append("Excluded, failing with both objects alike:")
        for row in excluded:
            official = row.first("official")
            last_line = (official.tail.strip().splitlines() or [""])[-1]
            what = ", ".join(official.failed_tests[:8]) or last_line
            out.append(f"  {row.package}: {official.result}; {what}")
    for row, verdict in zip(rows, verdicts):
        if verdict not in ("DIFFERENT", "flaky", "explained"):
            continue
        out.append("")
        if verdict == "explained":
            entry = explanation_of(row)
            out.append(f"== {row.package}: explained: {entry.why}")
            out.append(f"   reproduce: {entry.reproduce}")
            continue
        out.append(f"== {row.package}: {verdict}"
                   + (f"; failed only with racert, every time: "
                      f"{', '.join(sorted(racert_only_failures(row)))}"
                      if racert_only_failures(row) else ""))
        for variant in VARIANTS:
            for result in row.results.get(variant, []):
                out.append(f"  {variant} attempt {result.attempt}: {cell(result)}; failed tests: "
                           f"{', '.join(result.failed_tests) or 'none'}; logs {result.log_dir}")
                if result.result != "ok" or result.races:
                    out.extend("    " + line for line in result.tail.splitlines()[-tail_lines:])
    return "\n".join(out)


# --- Main -------------------------------------------------------------------------------------


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", help="comma-separated substrings of module paths "
                                          "(default: all, in list order)")
    parser.add_argument("--packages", help="comma-separated substrings of package paths: "
                                           "run only the matching packages of the modules")
    parser.add_argument("--go", default=None, help="the go binary (default: go on PATH)")
    parser.add_argument("--racert-object", type=Path, default=bench.RACERT_OBJECT)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds one go test may take, for every module (default: the "
                             "module's own timeout_s, else 300)")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="start no package after this many minutes (cached ones still count)")
    parser.add_argument("--recheck", type=int, default=1,
                        help="run a differing package again this many times (default 1)")
    parser.add_argument("--tail", type=int, default=15, help="output lines shown per failure")
    parser.add_argument("--list", action="store_true", help="prepare modules, print packages")
    parser.add_argument("--report", action="store_true", help="print the cached table only")
    return parser.parse_args(argv)


@dataclass
class Session:
    """What the runs of one invocation share, and what they carry from one
    package to the next."""
    args: argparse.Namespace
    go: str
    go_word: str
    env: dict[str, str]
    snapshot: Path  # the racert object, copied
    digests: dict[str, str]  # variant -> its object's sha256
    started: float = field(default_factory=time.monotonic)
    checked: bool = False  # both objects checked (macro.check_objects), once per invocation
    out_of_time: bool = False  # past --budget-minutes: cached results only from then on

    @property
    def cache_dir(self) -> Path:
        return WORK_DIR / "cache" / self.go_word

    @property
    def log_root(self) -> Path:
        return WORK_DIR / "logs" / self.go_word


def result_of(session: Session, variant: str, module: Module, module_dir: Path, package: str,
              attempt: int) -> Result | None:
    """The cached result of one run, or the run itself; None when the run is
    not made (--report, or the time budget is spent)."""
    args = session.args
    path = cache_path(session.cache_dir, variant, session.digests[variant], module, package, attempt)
    result = load_cached(path)
    if result is not None:
        return result
    if args.report or session.out_of_time:
        return None
    if args.budget_minutes is not None and time.monotonic() - session.started > args.budget_minutes * 60:
        session.out_of_time = True
        return None
    if not session.checked:
        macro.check_objects(session.go, session.snapshot, module_dir, session.env)
        session.checked = True
    log_dir = session.log_root / f"{module.slug}@{module.version}" / path.stem / variant
    timeout_s = args.timeout or module.timeout_s or DEFAULT_TIMEOUT_S
    result = run_one(variant, session.go, session.snapshot, package, module_dir, session.env,
                     timeout_s, log_dir, attempt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.__dict__, indent=1) + "\n")
    print(f"[{time.monotonic() - session.started:6.0f}s] {package} {variant}"
          f"{' (recheck)' if attempt > 1 else ''}: {cell(result)}",
          file=sys.stderr, flush=True)
    return result


def compare_package(session: Session, module: Module, module_dir: Path, package: str) -> Row:
    """Both objects' results for `package`; when the first attempts disagree,
    up to --recheck more attempts of each."""
    row = Row(module, package)
    attempts = 1
    attempt = 1
    while attempt <= attempts:
        for variant in VARIANTS:
            result = result_of(session, variant, module, module_dir, package, attempt)
            if result is None:
                break
            row.results.setdefault(variant, []).append(result)
        if (attempt == 1 and row.first("official") and row.first("racert")
                and not agree(row.first("official"), row.first("racert"))):
            attempts = 1 + max(0, session.args.recheck)
        attempt += 1
    return row


def module_packages(session: Session, module: Module) -> tuple[Path, list[str]]:
    """The module's folder and its test packages: fetched and listed now, or
    with --report as an earlier run listed them (none if never fetched)."""
    module_dir = module_dir_of(session.go_word, module)
    if not session.args.report:
        return prepare(session.go, session.go_word, session.env, module)
    listing = module_dir / "racert-packages.json"
    return module_dir, json.loads(listing.read_text()) if listing.is_file() else []


def compare_modules(session: Session, modules: list[Module]) -> tuple[list[Row], list[str]]:
    """The rows of every package compared, and what was not run."""
    rows: list[Row] = []
    not_run: list[str] = []
    for module in modules:
        module_dir, packages = module_packages(session, module)
        if session.args.report and not packages:
            not_run.append(f"{module.path}@{module.version} (not fetched yet)")
        if session.args.packages:
            wanted_packages = [w.strip() for w in session.args.packages.split(",") if w.strip()]
            packages = [p for p in packages if any(w in p for w in wanted_packages)]
        for package in packages:
            row = compare_package(session, module, module_dir, package)
            if row.first("official") and row.first("racert"):
                rows.append(row)
            else:
                not_run.append(package)
    return rows, not_run


def chosen_modules(wanted: str | None) -> list[Module]:
    if not wanted:
        return MODULES
    words = [w.strip() for w in wanted.split(",") if w.strip()]
    return [m for m in MODULES if any(w in m.path for w in words)]


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    go = shutil.which(args.go or "go")
    if not go:
        print("no go binary: put go on PATH or pass --go", file=sys.stderr)
        return 2
    go = str(Path(go).resolve())
    modules = chosen_modules(args.modules)
    if not modules:
        print(f"no module matches {args.modules}", file=sys.stderr)
        return 2

    # bench_gotest_macro keeps its scratch modules and checks under its WORK_DIR: ours go here.
    macro.WORK_DIR = WORK_DIR
    env = macro.go_environment(go)
    try:
        version_text = bench.go_version(go)
        go_word = next((w for w in version_text.split() if w.startswith("go1")), "go")
        if not args.racert_object.is_file():
            raise bench.BenchError(f"{args.racert_object} does not exist (./build_syso.sh)")
        snapshot = macro.snapshot_object(args.racert_object.resolve())  # under WORK_DIR, set above
        digests = {"official": bench.sha256_of(official_object(go)),
                   "racert": bench.sha256_of(snapshot)}
    except (bench.BenchError, subprocess.CalledProcessError) as error:
        print(f"module_compare: {error}", file=sys.stderr)
        return 1
    session = Session(args, go, go_word, env, snapshot, digests)
    print(f"{version_text}; {len(modules)} module(s); official object "
          f"{digests['official'][:12]}, racert {digests['racert'][:12]}; cache {session.cache_dir}",
          file=sys.stderr, flush=True)

    session.started = time.monotonic()
    if args.list:
        for module in modules:
            _, packages = module_packages(session, module)
            print(f"{module.path}@{module.version}: {len(packages)} package(s)")
            for package in packages:
                print(f"  {package}")
        return 0
    rows, not_run = compare_modules(session, modules)
    print(render(rows, not_run, args.tail))
    return 1 if any(classify(row) == "DIFFERENT" for row in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except bench.BenchError as error:
        print(f"module_compare: {error}", file=sys.stderr)
        sys.exit(1)

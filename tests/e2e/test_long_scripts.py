"""End-to-end: the module comparison and the long-run scripts work, on small inputs.

The real runs fetch modules through the Go module proxy and take many minutes
(``scripts/module_compare.py``, ``scripts/long_runs.py soak``); here:

* module_compare's verdicts (same / excluded / flaky / explained / different) on made-up
  results;
* its run of one package with each object, on a local module with one racy test:
  both objects fail that test and each report is counted from GORACE's log_path;
* long_runs.py on a 15-second soak and on 200 000 goroutines: both programs run
  to their end under both objects, with no race report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import helpers_go as hg

sys.path.insert(0, str(hg.SCRIPTS_DIR))

import module_compare as mc  # noqa: E402

RACY_TEST = """package racy

import (
\t"sync"
\t"testing"
)

var counter int

func TestRacy(t *testing.T) {
\tvar wg sync.WaitGroup
\tfor i := 0; i < 2; i++ {
\t\twg.Add(1)
\t\tgo func() { counter++; wg.Done() }()
\t}
\twg.Wait()
}

func TestQuiet(t *testing.T) {}
"""


def result(variant: str, outcome: str, races: int = 0, failed=(), attempt: int = 1) -> mc.Result:
    return mc.Result("example.invalid/p", variant, outcome, 1.0, 1.0, races, list(failed), "",
                     "", attempt)


def row(*pairs) -> mc.Row:
    r = mc.Row(mc.Module("example.invalid", "v1.0.0"), "example.invalid/p")
    for attempt, (official, racert) in enumerate(pairs, start=1):
        r.results.setdefault("official", []).append(result("official", *official, attempt=attempt))
        r.results.setdefault("racert", []).append(result("racert", *racert, attempt=attempt))
    return r


def test_verdicts():
    assert mc.classify(row((("ok",), ("ok",)))) == "same"
    assert mc.classify(row((("skip",), ("skip",)))) == "same"
    assert mc.classify(row((("FAIL", 0, ["TestA"]), ("FAIL", 0, ["TestA"])))) == "excluded"
    assert mc.classify(row((("build-fail",), ("build-fail",)))) == "excluded"
    # Different failing tests, a racert-only race or a racert-only failure: different.
    assert mc.classify(row((("FAIL", 0, ["TestA"]), ("FAIL", 0, ["TestA", "TestB"])))) == "DIFFERENT"
    assert mc.classify(row((("ok",), ("ok", 1)))) == "DIFFERENT"
    assert mc.classify(row((("ok",), ("FAIL", 0, ["TestA"])))) == "DIFFERENT"
    # A race the official object reports and racert reports too is no difference.
    assert mc.classify(row((("FAIL", 1, ["TestA"]), ("FAIL", 1, ["TestA"])))) == "excluded"
    # Differed, then agreed when run again.
    assert mc.classify(row((("ok",), ("timeout",)), (("ok",), ("ok",)))) == "flaky"
    assert mc.classify(row((("ok",), ("timeout",)), (("ok",), ("timeout",)))) == "DIFFERENT"
    # Failing with both each time, in varying tests: flaky unless racert always fails one more.
    varying = row((("FAIL", 0, ["A", "B"]), ("FAIL", 0, ["A", "C"])),
                  (("FAIL", 0, ["A", "C"]), ("FAIL", 0, ["A", "D"])))
    assert mc.classify(varying) == "flaky"
    steady = row((("FAIL", 0, ["A"]), ("FAIL", 0, ["A", "E"])),
                 (("FAIL", 0, ["A"]), ("FAIL", 0, ["A", "E"])))
    assert mc.classify(steady) == "DIFFERENT" and mc.racert_only_failures(steady) == {"E"}
    # The official object failing where racert passed, then both failing: flaky.
    assert mc.classify(row((("FAIL", 0, ["A"]), ("ok",)), (("FAIL", 0, ["B"]), ("FAIL", 0, ["C"])))) == "flaky"
    # racert failing every time in varying tests while the official passes: different.
    assert mc.classify(row((("ok",), ("FAIL", 0, ["A"])), (("ok",), ("FAIL", 0, ["B"])))) == "DIFFERENT"
    # racert timing out every time while the official fails in a test: different.
    assert mc.classify(row((("FAIL", 0, ["A"]), ("timeout",)), (("FAIL", 0, ["A"]), ("timeout",)))) == "DIFFERENT"
    table = mc.render([row((("ok",), ("ok", 2)))], ["example.invalid/q"], 5)
    assert "DIFFERENT" in table and "not run yet (1): example.invalid/q" in table


def test_explained_difference(tmp_path, monkeypatch):
    """A racert-only race listed in EXPLAINED counts as explained only while every
    racert attempt fails no other test and every logged report matches the entry."""
    entry = mc.Explained("example.invalid/p", frozenset({"TestA"}), ("writer()", "reader()"),
                         why="a true race", reproduce="true")
    monkeypatch.setattr(mc, "EXPLAINED", [entry])
    report = mc.RACE_MARKER + "\n  writer()\n  reader()\n"

    def racert_row(text: str, failed=("TestA",), races: int = 1) -> mc.Row:
        r = row((("ok",), ("FAIL", races, list(failed))))
        log_dir = tmp_path / f"logs{len(list(tmp_path.iterdir()))}"
        log_dir.mkdir()
        (log_dir / "race.1").write_text(text)
        r.results["racert"][0].log_dir = str(log_dir)
        return r

    explained = racert_row(report)
    assert mc.classify(explained) == "explained"
    assert "explained: a true race" in mc.render([explained], [], 5)
    assert mc.classify(racert_row(mc.RACE_MARKER + "\n  writer()\n  other()\n")) == "DIFFERENT"
    assert mc.classify(racert_row(report, failed=("TestA", "TestB"))) == "DIFFERENT"
    assert mc.classify(racert_row(report, races=2)) == "DIFFERENT"  # one report not in the log


def test_one_package_with_each_object(tmp_path):
    hg.require_racert_cli()
    module = tmp_path / "racy"
    module.mkdir()
    (module / "go.mod").write_text("module racy.invalid/racy\n\ngo 1.19\n")
    (module / "racy_test.go").write_text(RACY_TEST)
    go = str(Path(shutil.which(hg.discover_toolchains()[0].go or "go")).resolve())
    env = mc.macro.go_environment(go)
    snapshot = mc.macro.snapshot_object(mc.bench.RACERT_OBJECT)
    for variant in mc.VARIANTS:
        r = mc.run_one(variant, go, snapshot, "racy.invalid/racy", module, env, 300,
                       tmp_path / "logs" / variant, 1)
        assert (r.result, r.failed_tests) == ("FAIL", ["TestRacy"]), (variant, r.tail)
        assert r.races >= 1, (variant, r.tail)
        assert list((tmp_path / "logs" / variant).glob("race.*")), variant


def test_long_runs_short_versions():
    hg.require_racert_cli()
    script = str(hg.SCRIPTS_DIR / "long_runs.py")
    soak = subprocess.run([sys.executable, script, "soak", "--minutes", "0.25", "--interval", "2"],
                          cwd=hg.REPO_ROOT, capture_output=True, text=True, timeout=900)
    for variant in mc.VARIANTS:
        assert f"{variant}: exit 0, 0 race report(s), throughput" in soak.stdout, soak.stdout + soak.stderr
    assert "check: racert RSS growth" in soak.stdout, soak.stdout
    goroutines = subprocess.run(
        [sys.executable, script, "goroutines", "--total", "200000", "--alive", "20000"],
        cwd=hg.REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert goroutines.returncode == 0, goroutines.stdout + goroutines.stderr
    for variant in mc.VARIANTS:
        assert "goroutines 200000 waves 10 peak_alive" in goroutines.stdout, goroutines.stdout
        assert variant in goroutines.stdout

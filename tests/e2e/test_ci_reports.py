"""End-to-end: race reports as CI artifacts (`racert summary`, `racert sarif`).

A racy module with three packages (a counter incremented by two goroutines, a map
written by two goroutines, which races inside the runtime's map code, and a clean
package) is tested twice with ``racert go test -race ./...`` and
``GORACE=json_path=...``: every test binary writes its own file, and the second run
repeats every race, so each unique race has several reports in several files.

What the tests expect is computed from those JSON files by this module's own
reading of them (ids, counts, first occurrences), never written down; the source
lines come from ``// LINE:`` markers. The SARIF log is validated against the
SARIF 2.1.0 JSON schema (tests/e2e/data, see its README for where it comes from)
with the jsonschema package. The README's "Race detection in CI" example is run
as written.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest

import helpers_go as hg
import helpers_reports as hr

SCHEMA_FILE = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"

MODULE = {
    "go.mod": "module example.com/racy\n\ngo 1.19\n",
    "counter/counter.go": """\
package counter

// Counter counts without any synchronization.
type Counter struct{ n int }

func (c *Counter) Inc() {
	c.n++ // LINE:inc
}

func (c *Counter) Value() int { return c.n }
""",
    "counter/counter_test.go": """\
package counter

import (
	"sync"
	"testing"
)

func TestInc(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Inc()
		}()
	}
	wg.Wait()
}
""",
    "cache/cache.go": """\
package cache

// Cache is a map without a lock.
type Cache struct{ m map[string]int }

func New() *Cache { return &Cache{m: map[string]int{}} }

func (c *Cache) Put(key string, value int) {
	c.m[key] = value // LINE:put
}
""",
    "cache/cache_test.go": """\
package cache

import (
	"sync"
	"testing"
)

func TestPut(t *testing.T) {
	c := New()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c.Put("k", i)
		}(i)
	}
	wg.Wait()
}
""",
    "clean/clean.go": """\
package clean

import "sync"

type Total struct {
	mu sync.Mutex
	n  int
}

func (t *Total) Add(v int) {
	t.mu.Lock()
	t.n += v
	t.mu.Unlock()
}
""",
    "clean/clean_test.go": """\
package clean

import (
	"sync"
	"testing"
)

func TestAdd(t *testing.T) {
	var total Total
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			total.Add(1)
		}()
	}
	wg.Wait()
}
""",
}


@pytest.fixture(scope="session", params=hr.toolchain_params())
def toolchain(request) -> hg.Toolchain:
    return request.param


@pytest.fixture(scope="session")
def racy_module(tmp_path_factory, toolchain) -> tuple[Path, list[Path]]:
    """The module and the JSON files of two `go test -race ./...` runs."""
    root = tmp_path_factory.mktemp(f"racy-module-{toolchain.id}")
    for name, text in MODULE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    reports = root / "race-reports"
    for run in range(2):
        proc = hg.racert_go(toolchain, ["test", "-race", "-count=1", "./..."], cwd=root,
                            env_extra={"GORACE": f"json_path={reports}/run{run}"})
        output = proc.stdout + proc.stderr
        assert proc.returncode == 1 and "race detected during execution of test" in output, output
        assert re.search(r"^ok\s+example.com/racy/clean", output, re.M), output
    files = sorted(reports.iterdir())
    assert len(files) >= 4, files  # two packages race, two runs
    return root, files


def racert(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(hg.require_racert_cli()), *arguments], cwd=str(cwd), capture_output=True,
                          text=True, timeout=300, env=hr.clean_env(None))


def expected_groups(files: list[Path]) -> dict[str, dict]:
    """id -> {count, first file, first line, record}, read independently of racert."""
    groups: dict[str, dict] = {}
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            record = json.loads(line)
            group = groups.setdefault(record["id"], {"count": 0, "file": path, "line": number, "record": record})
            group["count"] += 1
    return groups


def user_frame(frames: list[dict], module: Path) -> dict:
    return next(frame for frame in frames if frame["file"].startswith(str(module) + "/"))


def marker_line(module: Path, name: str, marker: str) -> int:
    return hr.line_of(module / name, marker)


# ---- summary --------------------------------------------------------------------------------


def test_summary_lists_each_unique_race_with_counts_and_user_frames(racy_module):
    module, files = racy_module
    groups = expected_groups(files)
    total = sum(group["count"] for group in groups.values())
    proc = racert(["summary", *[str(f.relative_to(module)) for f in files]], module)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.splitlines()[0] == (f"racert summary: {len(groups)} unique data races ({total} reports) "
                                    f"in {len(files)} files"), text
    entries = re.findall(r"^ *\d+\. race ([0-9a-f]{16}): (\d+) reports?(?: in \d+ files)?, first in (\S+) line (\d+) ",
                         text, re.M)
    assert [entry[0] for entry in entries] == list(groups), text  # first seen first
    for race_id, count, first_file, first_line in entries:
        group = groups[race_id]
        assert int(count) == group["count"] >= 2, text  # every race was seen in both runs
        assert (first_file, int(first_line)) == (str(group["file"].relative_to(module)), group["line"]), text
    inc = marker_line(module, "counter/counter.go", "inc")
    put = marker_line(module, "cache/cache.go", "put")
    assert re.search(rf"counter\.\(\*Counter\)\.Inc \(counter/counter\.go:{inc}\)", text), text
    # The map race happens inside the runtime's map code: the user frame is Put's line.
    assert re.search(rf"cache\.\(\*Cache\)\.Put \(cache/cache\.go:{put}\), inside \S+", text), text
    assert "clean" not in text


def test_summary_of_no_races(tmp_path):
    empty = tmp_path / "races.1"
    empty.write_text("")
    proc = racert(["summary", str(empty)], tmp_path)
    assert proc.returncode == 0 and proc.stdout == "racert summary: no data races in 1 file\n", proc.stdout


# ---- SARIF -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sarif_validator() -> jsonschema.Draft4Validator:
    data = SCHEMA_FILE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256, "the vendored SARIF schema changed"
    schema = json.loads(data)
    assert schema["id"].endswith("/sarif-2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json") or \
        schema["id"].endswith("/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"), schema["id"]
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_schema_validation_is_strict(sarif_validator, racy_module):
    """The validator really rejects a log that breaks the schema (else the test below proves nothing)."""
    module, files = racy_module
    proc = racert(["sarif", *map(str, files)], module)
    log = json.loads(proc.stdout)
    for break_it in (lambda l: l.pop("version"),
                     lambda l: l["runs"][0]["results"][0].__setitem__("level", "fatal"),
                     lambda l: l["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
                     .__setitem__("startLine", 0)):
        broken = copy.deepcopy(log)
        break_it(broken)
        assert list(sarif_validator.iter_errors(broken)), "a broken SARIF log passed validation"


def test_sarif_has_one_result_per_unique_race_and_validates(sarif_validator, racy_module, tmp_path):
    module, files = racy_module
    groups = expected_groups(files)
    output = tmp_path / "races.sarif"
    proc = racert(["sarif", "-o", str(output), *map(str, files)], module)
    assert proc.returncode == 0 and proc.stdout == "", proc.stderr
    log = json.loads(output.read_text())
    errors = sorted(sarif_validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])

    (run,) = log["runs"]
    assert run["tool"]["driver"]["name"] == "racert"
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == module.resolve().as_uri() + "/"
    results = run["results"]
    assert [r["partialFingerprints"]["racertRaceId/v1"] for r in results] == list(groups)
    for result in results:
        group = groups[result["partialFingerprints"]["racertRaceId/v1"]]
        record = group["record"]
        assert result["occurrenceCount"] == group["count"]
        assert result["ruleId"] == run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"]
        # The current access in the module's code is the location; the previous one the related location.
        for key, side in (("locations", "current"), ("relatedLocations", "previous")):
            (location,) = result[key]
            frame = user_frame(record[side]["frames"], module)
            physical = location["physicalLocation"]
            assert physical["artifactLocation"] == {"uri": str(Path(frame["file"]).relative_to(module)),
                                                    "uriBaseId": "SRCROOT"}, location
            assert physical["region"]["startLine"] == frame["line"], location
            assert location["logicalLocations"][0]["fullyQualifiedName"] == frame["function"]
        # Both stacks, frame for frame, then the creation stacks of both goroutines.
        stacks = result["stacks"]
        for stack, side in zip(stacks, ("current", "previous")):
            names = [f["location"]["logicalLocations"][0]["fullyQualifiedName"] for f in stack["frames"]]
            assert names == [frame["function"] for frame in record[side]["frames"]], stack
            goroutine = record[side]["goroutine"]["id"]
            assert all(f.get("threadId") == goroutine for f in stack["frames"]), stack
        created = [record[side]["goroutine"]["created_at"] for side in ("current", "previous")]
        assert len(stacks) == 2 + sum(1 for frames in created if frames), stacks
        assert [len(s["frames"]) for s in stacks[2:]] == [len(frames) for frames in created if frames]
        assert "Data race" in result["message"]["text"]


def test_sarif_of_no_races_validates(sarif_validator, tmp_path):
    empty = tmp_path / "races.1"
    empty.write_text("\n")
    proc = racert(["sarif", str(empty)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    log = json.loads(proc.stdout)
    assert log["runs"][0]["results"] == []
    assert not list(sarif_validator.iter_errors(log))


# ---- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["summary", "sarif"])
def test_bad_input_is_one_line_naming_the_place(command, tmp_path):
    good = json.dumps({"schema": "racert.race/1", "id": "0123456789abcdef", "current": {"frames": [], "goroutine": {}},
                       "previous": {"frames": [], "goroutine": {}}})
    cases = {
        "not-json": (f"{good}\n{{oops\n", ":2: not a JSON line"),
        "other-schema": ('{"schema": "something/else"}\n', ":1: not a racert race report"),
        "bad-id": (good.replace("0123456789abcdef", "xyz") + "\n", ":1: race report without a valid"),
    }
    for name, (text, fragment) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        proc = racert([command, str(path)], tmp_path)
        assert proc.returncode == 1 and proc.stdout == "", proc.stdout
        assert proc.stderr.count("\n") == 1 and f"{path}{fragment}" in proc.stderr, proc.stderr
    missing = racert([command, str(tmp_path / "missing")], tmp_path)
    assert missing.returncode == 1 and "cannot read" in missing.stderr and "missing" in missing.stderr
    assert racert([command], tmp_path).returncode == 2


# ---- the README example ------------------------------------------------------------------------------


def readme_ci_example() -> str:
    readme = (hg.REPO_ROOT / "README.md").read_text()
    section = readme.split("## Race detection in CI", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README's 'Race detection in CI' has no sh block"
    return block.group(1)


def test_readme_ci_example_runs_as_written(racy_module, toolchain, sarif_validator, tmp_path):
    module, _ = racy_module
    work = tmp_path / "module"
    subprocess.run(["cp", "-a", str(module), str(work)], check=True)
    subprocess.run(["rm", "-rf", str(work / "race-reports")], check=True)
    env = toolchain.env({"PATH": f"{hg.REPO_ROOT}{os.pathsep}{os.environ.get('PATH', '')}"})
    proc = subprocess.run(["bash", "-c", readme_ci_example()], cwd=str(work), env=env, capture_output=True,
                          text=True, timeout=hg.BUILD_TIMEOUT_S)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, f"the example must fail the job on races:\n{output[-4000:]}"
    assert re.search(r"^racert summary: \d+ unique data races", output, re.M), output[-4000:]
    sarif_files = list(work.rglob("*.sarif"))
    assert len(sarif_files) == 1, output[-4000:]
    assert not list(sarif_validator.iter_errors(json.loads(sarif_files[0].read_text())))

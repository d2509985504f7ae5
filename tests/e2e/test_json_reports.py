"""End-to-end: machine-readable race reports (GORACE json_path).

README.md ("Machine-readable reports") promises: ``json_path=DIR/races`` writes
``DIR/races.<pid>``, one JSON object per printed report, next to the normal
text report; every field of the schema below; frames identical to the text
report's; an ``id`` that depends only on the pair of racing source locations
(stable across runs and rebuilds, different for different races); duplicates
suppressed by suppress_equal_stacks are not written; ``sequence`` counts
printed reports from 1.

The text report is parsed with the strict parser of helpers_reports and each
JSON object is compared with the text report of the same sequence number.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

import helpers_go as hg
import helpers_reports as hr

FAST = "atexit_sleep_ms=0"

HEX16 = re.compile(r"[0-9a-f]{16}")
ADDRESS = re.compile(r"0x[0-9a-f]{12,}")


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> hr.GoBuilds:
    return hr.session_builds(tmp_path_factory)


@pytest.fixture(scope="session", params=hr.toolchain_params())
def toolchain(request) -> hg.Toolchain:
    return request.param


# ---- running with json_path ---------------------------------------------------------


class JsonRun:
    """One run with json_path: the process, its text reports and its JSON lines."""

    def __init__(self, run: hr.ProgramRun, json_file: Path, text: str):
        self.run = run
        self.json_file = json_file
        self.raw = json_file.read_text() if json_file.exists() else None
        self.parsed = hr.parse_output(text)

    @property
    def objects(self) -> list[dict]:
        assert self.raw is not None, f"{self.json_file} was not written:\n{hr.describe(self.run)}"
        assert self.raw == "" or self.raw.endswith("\n"), "every JSON line must end with a newline"
        return [json.loads(line) for line in self.raw.splitlines()]


def run_with_json(binary: Path, tmp_path: Path, gorace: str = "", **kwargs) -> JsonRun:
    base = tmp_path / "json" / "races"
    run = hr.run_program(binary, f"{FAST} json_path={base} {gorace}", **kwargs)
    json_file = base.parent / f"races.{run.pid}"
    if base.parent.exists():
        assert sorted(p.name for p in base.parent.iterdir()) == [json_file.name], "exactly <json_path>.<pid>"
    return JsonRun(run, json_file, run.stderr)


# ---- schema ---------------------------------------------------------------------------


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_frame(frame: dict) -> None:
    assert set(frame) == {"function", "file", "line", "offset"}, frame
    assert isinstance(frame["function"], str) and frame["function"], frame
    assert isinstance(frame["file"], str) and frame["file"], frame
    assert is_int(frame["line"]) and frame["line"] >= 0, frame
    assert is_int(frame["offset"]) and frame["offset"] >= 0, frame


def validate_goroutine(goroutine: dict) -> None:
    assert set(goroutine) == {"id", "main", "state", "created_at"}, goroutine
    assert isinstance(goroutine["main"], bool), goroutine
    assert isinstance(goroutine["created_at"], list), goroutine
    for frame in goroutine["created_at"]:
        validate_frame(frame)
    if goroutine["id"] is None:
        assert goroutine["state"] == "unknown" and not goroutine["main"], goroutine
    else:
        assert is_int(goroutine["id"]) and goroutine["id"] >= 1, goroutine
        assert goroutine["main"] == (goroutine["id"] == 1), goroutine
        assert goroutine["state"] in ("running", "finished"), goroutine


def validate_access(access: dict) -> None:
    assert set(access) == {
        "kind", "atomic", "address", "size", "stack_restored", "pcs", "frames", "goroutine"
    }, access
    assert access["kind"] in ("read", "write"), access
    assert isinstance(access["atomic"], bool), access
    assert isinstance(access["address"], str) and ADDRESS.fullmatch(access["address"]), access
    assert is_int(access["size"]) and access["size"] >= 1, access
    assert isinstance(access["stack_restored"], bool), access
    assert isinstance(access["pcs"], list) and all(is_int(pc) and pc > 0 for pc in access["pcs"]), access
    assert isinstance(access["frames"], list), access
    for frame in access["frames"]:
        validate_frame(frame)
    if access["stack_restored"]:
        assert access["frames"] and access["pcs"], access
    else:
        assert access["frames"] == [] and access["pcs"] == [], access
    validate_goroutine(access["goroutine"])


def validate_report(obj: dict) -> None:
    assert set(obj) == {"schema", "id", "sequence", "address", "current", "previous"}, obj
    assert obj["schema"] == "racert.race/1", obj
    assert isinstance(obj["id"], str) and HEX16.fullmatch(obj["id"]), obj["id"]
    assert is_int(obj["sequence"]) and obj["sequence"] >= 1, obj
    assert isinstance(obj["address"], str) and ADDRESS.fullmatch(obj["address"]), obj
    validate_access(obj["current"])
    validate_access(obj["previous"])


# ---- JSON against text --------------------------------------------------------------------


def json_frames(frames: list[dict]) -> list[hr.Frame]:
    return [hr.Frame(f["function"], f["file"], f["line"], f["offset"]) for f in frames]


def assert_matches_text(obj: dict, text: hr.TextReport) -> None:
    """One JSON object says exactly what its text report says."""
    context = f"\n--- text ---\n{text.text}--- json ---\n{json.dumps(obj, indent=1)}"
    # Both text lines and the JSON address point into the same 8-byte word
    # (each line may print its own access's first byte in it).
    word = int(obj["address"], 16) & ~7
    assert text.current.address & ~7 == word and text.previous.address & ~7 == word, context
    for side, access in (("current", text.current), ("previous", text.previous)):
        data = obj[side]
        assert data["kind"] == access.kind, context
        if data["stack_restored"]:
            # The line prints where this access starts within the word.
            assert access.address == max(int(data["address"], 16), word), context
        assert data["goroutine"]["id"] == access.goroutine, context
        assert data["goroutine"]["main"] == (access.goroutine == 1), context
        if access.frames is None:
            assert data["stack_restored"] is False and data["frames"] == [], context
        else:
            assert data["stack_restored"] is True, context
            assert json_frames(data["frames"]) == access.frames, context
    # Creation blocks: one per distinct non-main goroutine, current first.
    expected_blocks = []
    for side in ("current", "previous"):
        g = obj[side]["goroutine"]
        if g["id"] is not None and not g["main"] and g["id"] not in [b[0] for b in expected_blocks]:
            expected_blocks.append((g["id"], g["state"], json_frames(g["created_at"])))
    actual_blocks = [(b.number, b.state, b.created_at) for b in text.goroutines]
    assert actual_blocks == expected_blocks, context


def assert_json_run_consistent(result: JsonRun) -> list[dict]:
    """Every line valid, one per text report, sequences 1..N, each matching its text."""
    objects = result.objects
    for obj in objects:
        validate_report(obj)
    reports = result.parsed.reports
    assert len(objects) == len(reports), f"{len(objects)} JSON lines for {len(reports)} text reports"
    assert [o["sequence"] for o in objects] == list(range(1, len(objects) + 1))
    for obj, text in zip(objects, reports):
        assert_matches_text(obj, text)
    return objects


# ---- tests ------------------------------------------------------------------------------------


def test_json_written_next_to_text_report(builds, toolchain, tmp_path):
    result = run_with_json(builds.program(toolchain, "simple"), tmp_path)
    assert result.run.returncode == 66, hr.describe(result.run)
    assert result.parsed.found == [1], "the text report is still printed"
    objects = assert_json_run_consistent(result)
    assert len(objects) == 1
    assert result.parsed.reports[0].stack_pair == hr.simple_stacks(hr.program_source("simple"), result.run.go_version)
    assert objects[0]["current"]["kind"] == objects[0]["previous"]["kind"] == "write"


def test_json_goroutine_states_and_multiple_races(builds, toolchain, tmp_path):
    result = run_with_json(builds.program(toolchain, "states"), tmp_path)
    assert result.run.returncode == 66, hr.describe(result.run)
    first, second = assert_json_run_consistent(result)
    assert first["current"]["goroutine"]["main"] is True
    assert first["previous"]["goroutine"]["state"] == "finished"
    assert second["current"]["goroutine"]["state"] == second["previous"]["goroutine"]["state"] == "running"
    assert first["id"] != second["id"], "two different races must get different ids"


def test_json_marks_atomic_accesses(builds, toolchain, tmp_path):
    result = run_with_json(builds.program(toolchain, "atomic_plain"), tmp_path)
    objects = assert_json_run_consistent(result)
    assert len(objects) == 2, hr.describe(result.run)
    for obj in objects:
        for side in ("current", "previous"):
            in_atomic_code = any(f["function"].startswith("sync/atomic.") for f in obj[side]["frames"])
            assert obj[side]["atomic"] == in_atomic_code, json.dumps(obj, indent=1)
    assert sum(obj[s]["atomic"] for obj in objects for s in ("current", "previous")) == 1


def test_json_kinds_addresses_and_sizes(builds, toolchain, tmp_path):
    result = run_with_json(builds.program(toolchain, "kinds"), tmp_path)
    printed = re.search(r"^element5=(0x[0-9a-f]+) slice=(0x[0-9a-f]+)$", result.run.stdout, re.MULTILINE)
    assert printed, result.run.stdout
    element5, slice_start = (int(printed.group(i), 16) for i in (1, 2))
    read_after_write, write_after_read, after_atomic, range_write = assert_json_run_consistent(result)
    assert (read_after_write["current"]["kind"], read_after_write["previous"]["kind"]) == ("read", "write")
    assert (write_after_read["current"]["kind"], write_after_read["previous"]["kind"]) == ("write", "read")
    # The atomic load: a read, atomic, of the whole 8-byte word.
    assert after_atomic["previous"]["kind"] == "read" and after_atomic["previous"]["atomic"] is True
    assert after_atomic["previous"]["size"] == 8
    assert after_atomic["current"]["atomic"] is False
    # The copy(): the access is the whole 16-word range from the slice start;
    # the report's address is the first conflicting byte, element 5.
    assert int(range_write["address"], 16) == element5
    assert int(range_write["current"]["address"], 16) == slice_start
    assert range_write["current"]["size"] == 16 * 8
    assert int(range_write["previous"]["address"], 16) == element5


def test_json_subword_accesses(builds, toolchain, tmp_path):
    result = run_with_json(builds.program(toolchain, "subword"), tmp_path)
    at = {k: int(v, 16) for k, v in re.findall(r"^(text3|text5|data0|data5)=(0x[0-9a-f]+)$", result.run.stdout, re.M)}
    string_race, copy_race = assert_json_run_consistent(result)
    # string(text[3:9]): a 6-byte range read from text[3]; text[5] a 1-byte write.
    assert (int(string_race["previous"]["address"], 16), string_race["previous"]["size"]) == (at["text3"], 6)
    assert int(string_race["current"]["address"], 16) == at["text5"]
    # copy(data, zeros): a 16-byte range write from data[0]; data[5] a 1-byte write.
    assert (int(copy_race["current"]["address"], 16), copy_race["current"]["size"]) == (at["data0"], 16)
    assert int(copy_race["previous"]["address"], 16) == at["data5"]


def test_json_applies_strip_path_prefix(builds, toolchain, tmp_path):
    result = run_with_json(builds.program(toolchain, "states"), tmp_path, "strip_path_prefix=/main.")
    objects = assert_json_run_consistent(result)  # frames equal to the stripped text frames
    files = {f["file"] for o in objects for s in ("current", "previous") for f in o[s]["frames"]}
    assert files == {"go"}, files


def test_json_escapes_file_names(builds, toolchain, tmp_path):
    # A source directory whose name needs JSON escaping (quote, backslash)
    # and is not ASCII.
    binary, source = builds.copy_and_build(toolchain, "simple", "escaping", 'we"ird\\dir \u00e9')
    result = run_with_json(binary, tmp_path)
    (obj,) = assert_json_run_consistent(result)
    files = {f["file"] for s in ("current", "previous") for f in obj[s]["frames"]}
    assert files == {str(source)}, files


def test_json_lost_previous_stack(builds, toolchain, tmp_path):
    result = run_with_json(builds.program(toolchain, "lost_history"), tmp_path, "history_size=0")
    assert result.run.returncode == 66, hr.describe(result.run)
    (obj,) = assert_json_run_consistent(result)
    previous = obj["previous"]
    assert previous["stack_restored"] is False, json.dumps(obj, indent=1)
    assert previous["goroutine"]["id"] not in (None, 1) and previous["goroutine"]["state"] == "running"
    assert previous["goroutine"]["created_at"], "the goroutine is still known"
    assert obj["current"]["stack_restored"] is True


@pytest.mark.parametrize("count", ["10", "3000"])
def test_json_previous_goroutine_finished_or_forgotten(builds, toolchain, tmp_path, count):
    # After 3000 finished goroutines the earlier one may be forgotten: then
    # README says id null, state "unknown", no creation stack (checked by the
    # schema validation); either way JSON and text must agree.
    result = run_with_json(builds.program(toolchain, "forgotten"), tmp_path, args=[count])
    (obj,) = assert_json_run_consistent(result)
    goroutine = obj["previous"]["goroutine"]
    if count == "10":
        assert goroutine["state"] == "finished" and obj["previous"]["stack_restored"], json.dumps(obj, indent=1)
    if goroutine["id"] is None:
        assert obj["previous"]["stack_restored"] is False


def addr2line(toolchain: hg.Toolchain, binary: Path, pcs: list[int]) -> list[tuple[str, str, int]]:
    """(function, file, line) of each pc, by the toolchain's own `go tool addr2line`."""
    go = toolchain.go or "go"
    proc = subprocess.run(
        [go, "tool", "addr2line", str(binary)],
        input="".join(f"{pc:#x}\n" for pc in pcs),
        capture_output=True,
        text=True,
        timeout=120,
        env=toolchain.env(),
        check=True,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 * len(pcs), proc.stdout
    result = []
    for function, location in zip(lines[0::2], lines[1::2]):
        file, line = location.rsplit(":", 1)
        result.append((function, file, int(line)))
    return result


def test_json_pcs_are_the_raw_stack_innermost_first(builds, toolchain, tmp_path):
    # Every pc but the outermost (dropped from frames: runtime glue) must
    # symbolize to the frame at the same position. pcs are return addresses
    # (and the access's, a return address of the instrumentation call), so
    # the instruction is at pc-1. The program has no inlined frames.
    binary = builds.program(toolchain, "states")
    result = run_with_json(binary, tmp_path)
    for obj in assert_json_run_consistent(result):
        for side in ("current", "previous"):
            access = obj[side]
            frames = [(f["function"], f["file"], f["line"]) for f in access["frames"]]
            assert len(access["pcs"]) == len(frames) + 1, json.dumps(access, indent=1)
            assert addr2line(toolchain, binary, [pc - 1 for pc in access["pcs"][:-1]]) == frames


def test_json_ids_stable_across_runs(builds, toolchain, tmp_path):
    binary = builds.program(toolchain, "states")
    runs = [run_with_json(binary, tmp_path / str(i)) for i in range(2)]
    ids = [[o["id"] for o in assert_json_run_consistent(r)] for r in runs]
    assert ids[0] == ids[1], ids
    assert len(set(ids[0])) == 2


@pytest.fixture(scope="session")
def rebuilt_simple(builds, toolchain) -> tuple[Path, Path]:
    """simple built twice from the same path, the second time with a changed
    statement above the race (same line count, different code)."""
    source = builds.out_dir / toolchain.id / "rebuild" / "main.go"
    source.parent.mkdir(parents=True, exist_ok=True)
    original = hr.program_source("simple").read_text()
    source.write_text(original)
    before = builds.build_source(toolchain, source, source.parent / "before")
    source.write_text(
        hr.replace_once(
            original,
            'fmt.Println("simple: start")',
            'fmt.Println("simple: start", len(os.Args), os.Getpid(), "rebuilt")',
        )
    )
    after = builds.build_source(toolchain, source, source.parent / "after")
    return before, after


def test_json_id_stable_across_rebuild(rebuilt_simple, tmp_path):
    before, after = (run_with_json(b, tmp_path / b.name) for b in rebuilt_simple)
    (old,) = assert_json_run_consistent(before)
    (new,) = assert_json_run_consistent(after)

    def main_frames(obj):
        for side in ("current", "previous"):
            frames = [f for f in obj[side]["frames"] if f["function"] == "main.main"]
            if frames:
                return frames
        raise AssertionError(json.dumps(obj, indent=1))

    # The rebuild moved the code (different offsets) but no source line.
    assert [f["line"] for f in main_frames(old)] == [f["line"] for f in main_frames(new)]
    assert [f["offset"] for f in main_frames(old)] != [f["offset"] for f in main_frames(new)], (
        "the edit did not change the code; the test proves nothing"
    )
    assert old["id"] == new["id"]


@pytest.mark.parametrize("suppress, expected", [(1, 1), (0, 16)])
def test_json_suppressed_duplicates_not_written(builds, toolchain, tmp_path, suppress, expected):
    result = run_with_json(builds.program(toolchain, "repeated"), tmp_path, f"suppress_equal_stacks={suppress}")
    objects = assert_json_run_consistent(result)
    assert len(objects) == expected, hr.describe(result.run)
    assert result.parsed.found == [expected]
    # All the same pair of source locations: one id; all different words.
    assert len({o["id"] for o in objects}) == 1
    assert len({o["address"] for o in objects}) == expected


def test_json_many_concurrent_reports(builds, toolchain, tmp_path):
    result = run_with_json(
        builds.program(toolchain, "concurrent"), tmp_path, "suppress_equal_stacks=0", env_extra={"GOMAXPROCS": "4"}
    )
    objects = assert_json_run_consistent(result)
    assert len(objects) == 16 * 128, hr.describe(result.run)
    assert result.parsed.found == [len(objects)]


def test_json_with_halt_on_error(builds, toolchain, tmp_path):
    result = run_with_json(builds.program(toolchain, "states"), tmp_path, "halt_on_error=1")
    assert result.run.returncode == 66, hr.describe(result.run)
    (obj,) = assert_json_run_consistent(result)
    assert obj["sequence"] == 1


def test_json_and_log_path_together(builds, toolchain, tmp_path):
    log = tmp_path / "log" / "text"
    base = tmp_path / "json" / "races"
    run = hr.run_program(builds.program(toolchain, "states"), f"{FAST} log_path={log} json_path={base}")
    assert run.returncode == 66 and run.stderr == "", hr.describe(run)
    result = JsonRun(run, Path(f"{base}.{run.pid}"), Path(f"{log}.{run.pid}").read_text())
    assert len(assert_json_run_consistent(result)) == 2


def test_json_path_same_as_log_path_keeps_both(builds, toolchain, tmp_path):
    # One file for everything: each report's text followed by its JSON line.
    # Neither stream may overwrite the other.
    base = tmp_path / "all" / "races"
    run = hr.run_program(builds.program(toolchain, "states"), f"{FAST} log_path={base} json_path={base}")
    assert run.returncode == 66 and run.stderr == "", hr.describe(run)
    content = Path(f"{base}.{run.pid}").read_text()
    parsed = hr.parse_output(content)  # fails on a report overwritten by JSON
    assert len(parsed.reports) == 2 and parsed.found == [2], content
    assert len(parsed.other_lines) == 2, content
    for line in parsed.other_lines:
        validate_report(json.loads(line))


def test_json_path_stdout(builds, toolchain):
    run = hr.run_program(builds.program(toolchain, "simple"), f"{FAST} json_path=stdout")
    assert run.returncode == 66, hr.describe(run)
    json_lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(json_lines) == 1, hr.describe(run)
    validate_report(json.loads(json_lines[0]))
    assert len(hr.parse_output(run.stderr).reports) == 1


def test_json_path_unwritable_warns_and_keeps_text(builds, toolchain, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file where json_path needs a directory\n")
    run = hr.run_program(builds.program(toolchain, "simple"), f"{FAST} json_path={blocker}/races")
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 1 and parsed.found == [1], hr.describe(run)
    assert len(parsed.other_lines) == 1, hr.describe(run)
    assert "json_path" in parsed.other_lines[0] and "warning" in parsed.other_lines[0].lower()

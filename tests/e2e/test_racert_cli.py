"""End-to-end tests of the `racert` command-line tool.

What they establish:
- `racert go ...` builds through a private GOROOT view, and the binaries really link
  the chosen object (symbol-table evidence, see helpers_cli.linked_object_evidence),
  with internal and external linking, for the machine's Go and Debian's Go 1.23.
- Views are created quickly, reused, keyed by object, safe under concurrent
  creation, and never change the real GOROOT.
- install / status / uninstall round-trip a GOROOT copy byte for byte, keep the
  original backup exactly once, and every error exits non-zero with one line on
  stderr, changing nothing.
- A release is served or refused by the __tsan_* entry points its runtime sources
  reference, never by its version number: on copies of real trees of the oldest and
  newest releases CI fetches (scripts/go_releases.txt), a higher version string is
  served and a release asking for an entry point the object lacks is refused.

Objects: two stand-ins compiled from go_api/floor (always available, distinct bytes),
plus build/race_linux.syso when ./build_syso.sh has produced it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import helpers_go
from helpers_cli import (
    BACKUP_SUFFIX, DEBIAN_GO_1_23, INSTALL_MANIFEST, LEGACY_LOCATION, RACERT, REAL_GO, REPO_ROOT,
    SPLIT_LOCATIONS, clean_environment, link_copy, linked_object_evidence, nm_symbols, replace_file, run_racert,
    sha256_file, snapshot_race_directories,
)

REAL_GOROOT = Path(subprocess.run([REAL_GO, "env", "GOROOT"], capture_output=True, text=True,
                                  check=True, env=clean_environment()).stdout.strip())
BUILD_OBJECT = REPO_ROOT / "build" / "race_linux.syso"
PROGRAM = """\
package main

import (
	"fmt"
	"sync"
	"sync/atomic"
)

func main() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var hits int64
	total := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atomic.AddInt64(&hits, 1)
			mu.Lock()
			total++
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Println("total", total, atomic.LoadInt64(&hits))
}
"""
PROGRAM_OUTPUT = "total 8 8"


# ---------------------------------------------------------------- fixtures

def _compile_standin(output: Path, optimisation: str) -> Path:
    subprocess.run(
        ["g++", "-std=c++20", optimisation, "-fPIC", "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics",
         "-fno-asynchronous-unwind-tables", f"-I{REPO_ROOT}", "-c",
         str(REPO_ROOT / "go_api/floor/floor_entry_points.cpp"), "-o", str(output)],
        check=True)
    return output


@pytest.fixture(scope="session")
def standin_object(tmp_path_factory) -> Path:
    return _compile_standin(tmp_path_factory.mktemp("objects") / "standin_a.syso", "-O2")


@pytest.fixture(scope="session")
def other_standin_object(tmp_path_factory) -> Path:
    """Same source, other optimisation: a second valid object with other bytes."""
    return _compile_standin(tmp_path_factory.mktemp("objects") / "standin_b.syso", "-O1")


@pytest.fixture(scope="session", params=["standin", "build"])
def object_under_test(request, standin_object) -> Path:
    if request.param == "build":
        if not BUILD_OBJECT.is_file():
            pytest.skip("build/race_linux.syso not built (./build_syso.sh)")
        return BUILD_OBJECT
    return standin_object


def _official_object(goroot: Path) -> Path:
    """The official amd64v1 object of a GOROOT, even if racert is installed there."""
    location = goroot / SPLIT_LOCATIONS[0]
    backup = Path(str(location) + BACKUP_SUFFIX)
    official = backup if backup.is_file() else location
    if not any(name.startswith("_ZN11__sanitizer") for name in nm_symbols(official)):
        pytest.skip(f"{official} is not the official LLVM object")
    return official


@pytest.fixture(scope="session")
def official_object() -> Path:
    return _official_object(REAL_GOROOT)


@pytest.fixture(scope="session")
def cache_home(tmp_path_factory) -> Path:
    """XDG_CACHE_HOME shared by the tests that may reuse views and their GOCACHE."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(scope="session")
def program_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("program")
    (directory / "main.go").write_text(PROGRAM)
    (directory / "go.mod").write_text("module racertprobe\n\ngo 1.19\n")
    (directory / "main_test.go").write_text(
        'package main\n\nimport "testing"\n\nfunc TestMain_(t *testing.T) { main() }\n')
    return directory


def _official_build(go: str, program_dir: Path, output: Path) -> Path:
    completed = subprocess.run([go, "build", "-race", "-o", str(output), "."], cwd=program_dir,
                               env=clean_environment(), capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr
    return output


@pytest.fixture(scope="session")
def official_binary(program_dir, tmp_path_factory) -> Path:
    """The test program built by the plain go with the official object (calibration)."""
    return _official_build(REAL_GO, program_dir, tmp_path_factory.mktemp("official") / "program")


def _env(cache: Path, race_object: Path | None, **extra: str) -> dict[str, str]:
    overrides = {"XDG_CACHE_HOME": str(cache), **extra}
    if race_object is not None:
        overrides["RACERT_OBJECT"] = str(race_object)
    return clean_environment(**overrides)


def _ok(completed: subprocess.CompletedProcess) -> str:
    assert completed.returncode == 0, f"exit {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def _run_program(binary: Path) -> None:
    completed = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120,
                               env=clean_environment(GORACE="atexit_sleep_ms=0"))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == PROGRAM_OUTPUT


def _assert_one_line_error(completed: subprocess.CompletedProcess, *fragments: str) -> None:
    assert completed.returncode == 1, f"exit {completed.returncode}\n{completed.stdout}\n{completed.stderr}"
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("racert: "), completed.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ---------------------------------------------------------------- racert go

@pytest.mark.parametrize("link_mode", ["internal", "external"])
def test_go_build_race_links_our_object(link_mode, object_under_test, official_object, official_binary,
                                        program_dir, cache_home, tmp_path):
    binary = tmp_path / "program"
    arguments = ["go", "build", "-race", "-o", str(binary)]
    if link_mode == "external":
        arguments.append("-ldflags=-linkmode=external")
    _ok(run_racert([*arguments, "."], _env(cache_home, object_under_test), cwd=program_dir))
    _run_program(binary)
    assert linked_object_evidence(binary, object_under_test, official_object, official_binary) == []


def test_go_test_and_go_run_use_the_view(standin_object, official_object, program_dir, cache_home, tmp_path):
    environment = _env(cache_home, standin_object, GORACE="atexit_sleep_ms=0")
    assert "ok" in _ok(run_racert(["go", "test", "-race", "-count=1", "."], environment, cwd=program_dir))
    assert PROGRAM_OUTPUT in _ok(run_racert(["go", "run", "-race", "."], environment, cwd=program_dir))
    reported = _ok(run_racert(["go", "env", "GOROOT", "GOCACHE", "GOTOOLCHAIN"], environment)).split()
    # `go env` names the real tree (the view is an implementation detail); the cache is racert's.
    assert reported[0] == str(REAL_GOROOT)
    assert reported[1].startswith(str(cache_home)) and reported[2] == "local"


def test_env_lines_select_the_view(standin_object, cache_home):
    environment = _env(cache_home, standin_object)
    lines = _ok(run_racert(["env"], environment)).splitlines()
    variables = dict(line.split("=", 1) for line in lines)
    assert set(variables) == {"GOROOT", "GOCACHE", "GOTOOLCHAIN"}
    assert variables["GOROOT"] == _ok(run_racert(["goroot"], environment)).strip()
    assert (Path(variables["GOROOT"]) / SPLIT_LOCATIONS[1]).read_bytes() == standin_object.read_bytes()


def test_object_option_forms_are_equivalent(standin_object, cache_home):
    from_environment = _ok(run_racert(["goroot"], _env(cache_home, standin_object))).strip()
    global_option = _ok(run_racert(["--object", str(standin_object), "goroot"], _env(cache_home, None))).strip()
    command_option = _ok(run_racert(["goroot", f"--object={standin_object}"], _env(cache_home, None))).strip()
    assert from_environment == global_option == command_option


def test_view_is_fast_reused_and_keyed_by_object(standin_object, other_standin_object, tmp_path):
    cache = tmp_path / "cache"
    started = time.monotonic()
    first = _ok(run_racert(["goroot"], _env(cache, standin_object))).strip()
    first_seconds = time.monotonic() - started
    started = time.monotonic()
    again = _ok(run_racert(["goroot"], _env(cache, standin_object))).strip()
    again_seconds = time.monotonic() - started
    print(f"view setup {first_seconds:.2f}s, reuse {again_seconds:.2f}s")
    assert again == first
    assert first_seconds < 30, "a view must take seconds, not a full copy"
    assert again_seconds < 5
    manifest = json.loads((Path(first) / ".racert-view.json").read_text())
    assert manifest["object_sha256"] == sha256_file(standin_object)
    assert manifest["link_mode"] == "hardlink"

    other = _ok(run_racert(["goroot"], _env(cache, other_standin_object))).strip()
    assert other != first
    for view, race_object in ((first, standin_object), (other, other_standin_object)):
        for location in SPLIT_LOCATIONS:
            assert sha256_file(Path(view) / location) == sha256_file(race_object)
    gocaches = {_ok(run_racert(["env"], _env(cache, o))).splitlines()[1] for o in (standin_object, other_standin_object)}
    assert len(gocaches) == 1, "views of one Go install share one racert GOCACHE"


def test_shared_gocache_never_mixes_objects(standin_object, official_object, official_binary, program_dir,
                                           cache_home, tmp_path):
    """Alternate objects through the one GOCACHE: each build links its own object."""
    for round_number, race_object in enumerate((standin_object, official_object, standin_object)):
        binary = tmp_path / f"program{round_number}"
        _ok(run_racert(["go", "build", "-race", "-o", str(binary), "."], _env(cache_home, race_object),
                       cwd=program_dir))
        linked_sanitizer = any(name.startswith("_ZN11__sanitizer") for name in nm_symbols(binary))
        assert linked_sanitizer == (race_object == official_object)
        if race_object != official_object:
            assert linked_object_evidence(binary, race_object, official_object, official_binary) == []


def test_concurrent_view_creation(standin_object, tmp_path):
    cache = tmp_path / "cache"
    before = snapshot_race_directories(REAL_GOROOT)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: run_racert(["goroot"], _env(cache, standin_object)), range(4)))
    paths = {_ok(result).strip() for result in results}
    assert len(paths) == 1
    leftovers = [entry.name for entry in (cache / "racert" / "views").iterdir() if entry.name.startswith(".tmp-")]
    assert leftovers == []
    assert _ok(run_racert(["goroot"], _env(cache, standin_object))).strip() in paths
    assert snapshot_race_directories(REAL_GOROOT) == before, "a view must never change the real GOROOT"


def test_symlink_view_builds_and_links_our_object(standin_object, official_object, official_binary,
                                                 program_dir, tmp_path):
    cache = tmp_path / "cache"
    environment = _env(cache, standin_object, RACERT_VIEW_LINKS="symlink")
    view = Path(_ok(run_racert(["goroot"], environment)).strip())
    assert (view / "VERSION").is_symlink() and (view / "src").is_dir() and not (view / "src").is_symlink()
    assert not (view / SPLIT_LOCATIONS[0]).is_symlink()
    binary = tmp_path / "program"
    _ok(run_racert(["go", "build", "-race", "-o", str(binary), "."], environment, cwd=program_dir))
    _run_program(binary)
    assert linked_object_evidence(binary, standin_object, official_object, official_binary) == []


def test_view_on_another_filesystem_falls_back_to_symlinks(standin_object, tmp_path):
    """Hard links cannot cross filesystems: a cache on a tmpfs gets a symlink view."""
    cache = tmp_path / "tmpfs-cache"
    cache.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m", "racert-test", str(cache)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        environment = _env(cache, standin_object)
        view = Path(_ok(run_racert(["goroot"], environment)).strip())
        assert json.loads((view / ".racert-view.json").read_text())["link_mode"] == "symlink"
        assert (view / "src/runtime/race/race.go").is_symlink()
        listed = _ok(run_racert(["go", "list", "-race", "-deps", "runtime/race"], environment))
        assert "runtime/race/internal/amd64v1" in listed.split()
    finally:
        subprocess.run(["umount", str(cache)], check=True)


def test_damaged_view_is_reported(standin_object, other_standin_object, tmp_path):
    cache = tmp_path / "cache"
    view = Path(_ok(run_racert(["goroot"], _env(cache, standin_object))).strip())
    (view / SPLIT_LOCATIONS[1]).write_bytes(other_standin_object.read_bytes())
    # The commands that use the view: goroot, env, and go in view mode.
    for arguments, extra in ((["goroot"], {}), (["env"], {}), (["go", "version"], {"RACERT_GO_MODE": "view"})):
        completed = run_racert(arguments, _env(cache, standin_object, **extra))
        _assert_one_line_error(completed, "damaged GOROOT view", "racert clean")
    _ok(run_racert(["clean"], _env(cache, None)))
    assert _ok(run_racert(["goroot"], _env(cache, standin_object))).strip() == str(view)


def test_view_lists_the_same_std_packages(standin_object, cache_home):
    plain = subprocess.run([REAL_GO, "list", "std"], capture_output=True, text=True, check=True,
                           env=clean_environment()).stdout
    assert _ok(run_racert(["go", "list", "std"], _env(cache_home, standin_object))) == plain


def test_runtime_race_output_tests_pass_with_the_official_object_substituted(official_object, cache_home):
    """With the official object substituted, Go's own runtime/race TestOutput (which
    starts nested `go run`s) must pass: racert go itself changes nothing else (the
    libc imports it adds for the object leave libgcc's helpers to the linker)."""
    completed = run_racert(["go", "test", "-race", "-count=1", "-run", "^TestOutput$", "runtime/race"],
                           _env(cache_home, official_object), timeout=1200)
    assert "ok" in _ok(completed) and "runtime/race" in completed.stdout


def test_nested_racert_reuses_the_real_goroot(standin_object, cache_home):
    environment = _env(cache_home, standin_object)
    view = _ok(run_racert(["goroot"], environment)).strip()
    nested = _ok(run_racert(["goroot"], {**environment, "GOROOT": view})).strip()
    assert nested == view


def test_foreign_target_is_refused(standin_object, cache_home):
    completed = run_racert(["go", "version"], _env(cache_home, standin_object, GOARCH="arm64"))
    _assert_one_line_error(completed, "GOARCH=arm64")


@pytest.mark.skipif(not DEBIAN_GO_1_23.is_file(), reason=f"{DEBIAN_GO_1_23} not installed")
@pytest.mark.parametrize("link_mode", ["internal", "external"])
def test_racert_go_with_debian_go_1_23(link_mode, object_under_test, program_dir, cache_home, tmp_path):
    goroot_1_23 = Path(subprocess.run([str(DEBIAN_GO_1_23), "env", "GOROOT"], capture_output=True, text=True,
                                      check=True, env=clean_environment()).stdout.strip())
    official = _official_object(goroot_1_23)
    official_1_23_binary = _official_build(str(DEBIAN_GO_1_23), program_dir, tmp_path / "official")
    environment = _env(cache_home, object_under_test, RACERT_GO=str(DEBIAN_GO_1_23))
    view = _ok(run_racert(["goroot"], environment)).strip()
    assert Path(view).name.startswith("go1.23-")
    assert _ok(run_racert(["go", "env", "GOVERSION"], environment)).startswith("go1.23")
    binary = tmp_path / "program"
    arguments = ["go", "build", "-race", "-o", str(binary)]
    if link_mode == "external":
        arguments.append("-ldflags=-linkmode=external")
    _ok(run_racert([*arguments, "."], environment, cwd=program_dir))
    _run_program(binary)
    assert linked_object_evidence(binary, object_under_test, official, official_1_23_binary) == []


# ---------------------------------------------------------------- install / uninstall / status

@pytest.fixture(scope="session")
def session_goroot_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("goroot") / "go"
    started = time.monotonic()
    subprocess.run(["cp", "-a", str(REAL_GOROOT), str(copy)], check=True)
    print(f"GOROOT copy took {time.monotonic() - started:.1f}s")
    return copy


@pytest.fixture
def goroot_copy(session_goroot_copy) -> Path:
    """The session's GOROOT copy with official objects, no backups and no manifest."""
    for location in SPLIT_LOCATIONS:
        real = REAL_GOROOT / location
        real_backup = Path(str(real) + BACKUP_SUFFIX)
        target = session_goroot_copy / location
        Path(str(target) + BACKUP_SUFFIX).unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        shutil.copy2(real_backup if real_backup.is_file() else real, target)
    (session_goroot_copy / INSTALL_MANIFEST).unlink(missing_ok=True)
    return session_goroot_copy


def _states(goroot: Path, environment: dict[str, str]) -> list[str]:
    document = json.loads(_ok(run_racert(["status", "--goroot", str(goroot), "--json"], environment)))
    return [location["state"] for location in document["locations"]]


def test_install_status_uninstall_round_trip(goroot_copy, object_under_test, official_object, program_dir,
                                             cache_home, tmp_path):
    environment = _env(cache_home, object_under_test)
    before = snapshot_race_directories(goroot_copy)
    originals = {location: sha256_file(goroot_copy / location) for location in SPLIT_LOCATIONS}
    assert _states(goroot_copy, environment) == ["official", "official"]

    _ok(run_racert(["install", "--goroot", str(goroot_copy)], environment))
    for location in SPLIT_LOCATIONS:
        assert sha256_file(goroot_copy / location) == sha256_file(object_under_test)
        assert sha256_file(Path(str(goroot_copy / location) + BACKUP_SUFFIX)) == originals[location]
    assert (goroot_copy / INSTALL_MANIFEST).is_file()
    assert _states(goroot_copy, environment) == ["racert", "racert"]
    text = _ok(run_racert(["status", "--goroot", str(goroot_copy)], environment))
    assert sha256_file(object_under_test)[:12] in text and BACKUP_SUFFIX in text

    # The installed GOROOT really links the object (GOCACHE: racert's, keyed by content).
    gocache = _ok(run_racert(["env"], environment)).splitlines()[1].split("=", 1)[1]
    binary = tmp_path / "program"
    completed = subprocess.run(
        [str(goroot_copy / "bin/go"), "build", "-race", "-o", str(binary), "."], cwd=program_dir,
        env=clean_environment(GOROOT=str(goroot_copy), GOCACHE=gocache), capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr
    _run_program(binary)
    assert not any(name.startswith("_ZN11__sanitizer") for name in nm_symbols(binary))

    _ok(run_racert(["uninstall", "--goroot", str(goroot_copy)], environment))
    assert snapshot_race_directories(goroot_copy) == before
    assert {location: sha256_file(goroot_copy / location) for location in SPLIT_LOCATIONS} == originals
    assert _states(goroot_copy, environment) == ["official", "official"]


def test_second_install_keeps_the_first_backup(goroot_copy, standin_object, other_standin_object, cache_home):
    before = snapshot_race_directories(goroot_copy)
    originals = {location: sha256_file(goroot_copy / location) for location in SPLIT_LOCATIONS}
    _ok(run_racert(["install", "--goroot", str(goroot_copy)], _env(cache_home, standin_object)))
    _ok(run_racert(["install", "--goroot", str(goroot_copy)], _env(cache_home, other_standin_object)))
    for location in SPLIT_LOCATIONS:
        assert sha256_file(goroot_copy / location) == sha256_file(other_standin_object)
        assert sha256_file(Path(str(goroot_copy / location) + BACKUP_SUFFIX)) == originals[location]
    assert _states(goroot_copy, _env(cache_home, other_standin_object)) == ["racert", "racert"]
    _ok(run_racert(["uninstall", "--goroot", str(goroot_copy)], _env(cache_home, None)))
    assert snapshot_race_directories(goroot_copy) == before


def test_install_refuses_our_object_without_backup(goroot_copy, standin_object, cache_home):
    shutil.copyfile(standin_object, goroot_copy / SPLIT_LOCATIONS[1])
    before = snapshot_race_directories(goroot_copy)
    completed = run_racert(["install", "--goroot", str(goroot_copy)], _env(cache_home, standin_object))
    _assert_one_line_error(completed, "no original backup")
    assert snapshot_race_directories(goroot_copy) == before


def test_install_refuses_an_unrecorded_racert_object_without_backup(goroot_copy, standin_object, cache_home):
    """Without a manifest or a hash match, racert's own symbols still identify it: it
    must never become the "original" backup."""
    if not BUILD_OBJECT.is_file():
        pytest.skip("build/race_linux.syso not built (./build_syso.sh)")
    # Trailing padding keeps the ELF readable but matches no known hash.
    (goroot_copy / SPLIT_LOCATIONS[0]).write_bytes(BUILD_OBJECT.read_bytes() + bytes(16))
    environment = _env(cache_home, standin_object)
    document = json.loads(_ok(run_racert(["status", "--goroot", str(goroot_copy), "--json"], environment)))
    assert document["locations"][0]["state"] == "racert"
    assert "unrecorded build" in document["locations"][0]["description"]
    before = snapshot_race_directories(goroot_copy)
    _assert_one_line_error(run_racert(["install", "--goroot", str(goroot_copy)], environment), "no original backup")
    assert snapshot_race_directories(goroot_copy) == before


def test_uninstall_refuses_a_file_changed_after_install_unless_forced(goroot_copy, standin_object,
                                                                    other_standin_object, cache_home):
    environment = _env(cache_home, standin_object)
    originals = {location: sha256_file(goroot_copy / location) for location in SPLIT_LOCATIONS}
    _ok(run_racert(["install", "--goroot", str(goroot_copy)], environment))
    shutil.copyfile(other_standin_object, goroot_copy / SPLIT_LOCATIONS[0])
    before = snapshot_race_directories(goroot_copy)
    _assert_one_line_error(run_racert(["uninstall", "--goroot", str(goroot_copy)], environment), "--force")
    assert snapshot_race_directories(goroot_copy) == before
    assert _states(goroot_copy, environment)[0] == "unknown"
    _assert_one_line_error(run_racert(["install", "--goroot", str(goroot_copy)], environment), "unknown object")
    assert snapshot_race_directories(goroot_copy) == before
    _ok(run_racert(["uninstall", "--goroot", str(goroot_copy), "--force"], environment))
    assert {location: sha256_file(goroot_copy / location) for location in SPLIT_LOCATIONS} == originals


def test_uninstall_without_install_changes_nothing(goroot_copy, cache_home):
    before = snapshot_race_directories(goroot_copy)
    assert "nothing to uninstall" in _ok(run_racert(["uninstall", "--goroot", str(goroot_copy)],
                                                    _env(cache_home, None)))
    assert snapshot_race_directories(goroot_copy) == before


def test_install_into_a_view_is_refused(standin_object, cache_home):
    environment = _env(cache_home, standin_object)
    view = _ok(run_racert(["goroot"], environment)).strip()
    _assert_one_line_error(run_racert(["install", "--goroot", view], environment), "view")


def _fake_goroot(root: Path, version: str, locations: tuple[str, ...], content: bytes) -> Path:
    """A minimal tree: VERSION, src/runtime with the machine Go's race sources (which
    name the entry points the release calls) and the race object locations."""
    (root / "src/runtime").mkdir(parents=True, exist_ok=True)
    for source in ("race.go", "race_amd64.s"):
        shutil.copyfile(REAL_GOROOT / "src/runtime" / source, root / "src/runtime" / source)
    (root / "VERSION").write_text(f"{version}\ntime 2024-01-01T00:00:00Z\n")
    for location in locations:
        (root / location).parent.mkdir(parents=True, exist_ok=True)
        (root / location).write_bytes(content)
    return root


# ---------------------------------------------------------------- real releases

@pytest.fixture(scope="session")
def oldest_release() -> Path:
    """The real tree of the oldest release CI tests (Go 1.19: one legacy location)."""
    return helpers_go.release_goroot(helpers_go.matrix_releases("ci")[0])


@pytest.fixture(scope="session")
def newest_release() -> Path:
    """The real tree of the newest release CI tests."""
    return helpers_go.release_goroot(helpers_go.matrix_releases("ci")[-1])


def _newer_release(real: Path, copy: Path, extra_assembly: str = "") -> Path:
    """A hard-link copy of a real tree claiming to be go1.99.0, its race_amd64.s
    optionally extended (as a new file: the original's inode is never written)."""
    link_copy(real, copy)
    replace_file(copy / "VERSION", "go1.99.0\ntime 2030-01-01T00:00:00Z\n")
    if extra_assembly:
        assembly = copy / "src/runtime/race_amd64.s"
        replace_file(assembly, assembly.read_text() + extra_assembly)
    return copy


# A release that also offers an atomic XOR: its assembly loads an entry point no
# object has today, exactly as race_amd64.s loads the others.
FETCH_XOR_ASSEMBLY = """
// func runtime·racefetchxor64(addr *uint64, val uint64) uint64
TEXT\truntime·racefetchxor64(SB), NOSPLIT, $0-24
\tGO_ARGS
\tMOVQ\t$__tsan_go_atomic64_fetch_xor(SB), AX
\tCALL\tracecallatomic<>(SB)
\tRET
"""


def test_go_1_19_layout_round_trip(oldest_release, standin_object, cache_home, tmp_path):
    goroot = link_copy(oldest_release, tmp_path / "go")
    assert (goroot / "VERSION").read_text().startswith("go1.19.")
    environment = _env(cache_home, standin_object)
    before = snapshot_race_directories(goroot)
    document = json.loads(_ok(run_racert(["status", "--goroot", str(goroot), "--json"], environment)))
    assert [entry["location"] for entry in document["locations"]] == [LEGACY_LOCATION]
    assert document["locations"][0]["state"] == "official"
    # Go 1.19 predates the atomic And/Or entry points.
    assert document["entry_points"]["state"] == "served"
    assert "__tsan_go_atomic32_fetch_and" not in document["entry_points"]["required"]
    _ok(run_racert(["install", "--goroot", str(goroot)], environment))
    assert sha256_file(goroot / LEGACY_LOCATION) == sha256_file(standin_object)
    assert not (goroot / "src/runtime/race/internal").exists()
    _ok(run_racert(["uninstall", "--goroot", str(goroot)], environment))
    assert snapshot_race_directories(goroot) == before
    assert sha256_file(goroot / LEGACY_LOCATION) == sha256_file(oldest_release / LEGACY_LOCATION)


def test_newer_release_calling_known_entry_points_is_served(newest_release, object_under_test, cache_home,
                                                             program_dir, tmp_path):
    """A version number racert has never seen is no reason to refuse: go1.99.0 built
    from a real tree links and runs with racert's object, and installs and uninstalls."""
    # A name in a comment is no call: only code and the //go: directives count.
    goroot = _newer_release(newest_release, tmp_path / "go",
                            "\n// A later release might add __tsan_go_atomic64_fetch_nand.\n"
                            "/* or __tsan_go_atomic32_fetch_nand */\n")
    environment = _env(cache_home, object_under_test, RACERT_GO=str(goroot / "bin/go"))
    status = _ok(run_racert(["status", "--goroot", str(goroot)], environment))
    assert "(go1.99.0; newer than go1." in status, status
    assert "exports all of them" in status, status
    binary = tmp_path / "program"
    _ok(run_racert(["go", "build", "-race", "-o", str(binary), "."], environment, cwd=program_dir))
    _run_program(binary)
    assert not any(name.startswith("_ZN11__sanitizer") for name in nm_symbols(binary))
    assert "__tsan_init" in nm_symbols(binary)
    before = snapshot_race_directories(goroot)
    _ok(run_racert(["install", "--goroot", str(goroot)], environment))
    assert _states(goroot, environment) == ["racert", "racert"]
    _ok(run_racert(["uninstall", "--goroot", str(goroot)], environment))
    assert snapshot_race_directories(goroot) == before


def test_release_calling_a_missing_entry_point_is_refused(newest_release, standin_object, cache_home, tmp_path):
    goroot = _newer_release(newest_release, tmp_path / "go", FETCH_XOR_ASSEMBLY)
    cache = tmp_path / "cache"
    environment = _env(cache, standin_object, RACERT_GO=str(goroot / "bin/go"))
    before = snapshot_race_directories(goroot)
    for arguments in (["go", "build", "-race", "."], ["goroot"], ["env"], ["install", "--goroot", str(goroot)]):
        completed = run_racert(arguments, environment, cwd=tmp_path)
        _assert_one_line_error(completed, "go1.99.0", "calls 1 race entry point", str(standin_object),
                               "__tsan_go_atomic64_fetch_xor (named in src/runtime/race_amd64.s)",
                               "cannot serve this Go release")
    assert snapshot_race_directories(goroot) == before
    assert not (cache / "racert" / "views").exists() or not any((cache / "racert" / "views").iterdir())
    document = json.loads(_ok(run_racert(["status", "--goroot", str(goroot), "--json"], environment)))
    assert document["entry_points"]["state"] == "refused"
    assert document["entry_points"]["missing"] == ["__tsan_go_atomic64_fetch_xor"]
    assert document["newer_than_tested"] is True
    # The unmodified real tree of the same release is served by the same object.
    _ok(run_racert(["status", "--goroot", str(newest_release)], environment))
    assert json.loads(_ok(run_racert(["status", "--goroot", str(newest_release), "--json"], environment)))[
        "entry_points"]["state"] == "served"


def test_entry_points_are_judged_per_release(oldest_release, newest_release, standin_object, cache_home, tmp_path):
    """An object without the atomic And/Or entry points serves Go 1.19, which never
    calls them, and is refused by a release that does."""
    hidden = ["__tsan_go_atomic32_fetch_and", "__tsan_go_atomic32_fetch_or",
              "__tsan_go_atomic64_fetch_and", "__tsan_go_atomic64_fetch_or"]
    reduced = tmp_path / "no_and_or.syso"
    subprocess.run(["objcopy", *[f"--localize-symbol={name}" for name in hidden], str(standin_object),
                    str(reduced)], check=True)
    assert {name: nm_symbols(reduced)[name].kind for name in hidden} == {name: "t" for name in hidden}
    old = _env(cache_home, reduced, RACERT_GO=str(oldest_release / "bin/go"))
    assert Path(_ok(run_racert(["goroot"], old)).strip()).name.startswith("go1.19-")
    new = _env(cache_home, reduced, RACERT_GO=str(newest_release / "bin/go"))
    _assert_one_line_error(run_racert(["goroot"], new), "calls 4 race entry points", ", ".join(hidden),
                           "named in src/runtime/race.go")


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("command", ["install", "uninstall", "status"])
def test_missing_goroot(command, standin_object, cache_home, tmp_path):
    for goroot in (tmp_path / "does-not-exist", tmp_path):  # absent; present but not a Go tree
        completed = run_racert([command, "--goroot", str(goroot)], _env(cache_home, standin_object))
        _assert_one_line_error(completed, "GOROOT not found")


@pytest.fixture
def read_only_goroot(tmp_path, official_object):
    """A minimal GOROOT on a tmpfs remounted read-only: fails writes even for root."""
    mount_point = tmp_path / "ro-goroot"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "racert-test", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {mounted.stderr.strip()}")
    try:
        _fake_goroot(mount_point, "go1.26.0", SPLIT_LOCATIONS, official_object.read_bytes())
        # A backup too, so uninstall has something it would restore.
        backup = Path(str(mount_point / SPLIT_LOCATIONS[0]) + BACKUP_SUFFIX)
        backup.write_bytes(official_object.read_bytes())
        subprocess.run(["mount", "-o", "remount,ro", str(mount_point)], check=True)
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


@pytest.mark.parametrize("command", ["install", "uninstall"])
def test_read_only_goroot(command, read_only_goroot, standin_object, cache_home):
    before = snapshot_race_directories(read_only_goroot)
    completed = run_racert([command, "--goroot", str(read_only_goroot)], _env(cache_home, standin_object))
    _assert_one_line_error(completed, "GOROOT not writable")
    assert snapshot_race_directories(read_only_goroot) == before


@pytest.mark.parametrize("version", ["go1.18.10", "devel go1.17-abcdef"])
@pytest.mark.parametrize("command", ["install", "uninstall", "status"])
def test_unsupported_go_version(version, command, standin_object, official_object, cache_home, tmp_path):
    goroot = _fake_goroot(tmp_path / "go", version, SPLIT_LOCATIONS + (LEGACY_LOCATION,),
                          official_object.read_bytes())
    before = snapshot_race_directories(goroot)
    completed = run_racert([command, "--goroot", str(goroot)], _env(cache_home, standin_object))
    _assert_one_line_error(completed, "unsupported Go version", version.split()[-1].split("-")[0])
    assert snapshot_race_directories(goroot) == before


def test_unexpected_layout(standin_object, official_object, cache_home, tmp_path):
    goroot = _fake_goroot(tmp_path / "go", "go1.21.0", (LEGACY_LOCATION,), official_object.read_bytes())
    completed = run_racert(["install", "--goroot", str(goroot)], _env(cache_home, standin_object))
    _assert_one_line_error(completed, "unexpected GOROOT layout", "amd64v1")


def test_missing_or_unusable_object(goroot_copy, cache_home, tmp_path):
    before = snapshot_race_directories(goroot_copy)
    missing = tmp_path / "absent.syso"
    for arguments in (["install", "--goroot", str(goroot_copy)], ["go", "version"], ["goroot"]):
        _assert_one_line_error(run_racert(arguments, _env(cache_home, missing)), "object not found", str(missing))
    not_elf = tmp_path / "text.syso"
    not_elf.write_text("not an object\n")
    _assert_one_line_error(run_racert(["install", "--goroot", str(goroot_copy)], _env(cache_home, not_elf)),
                           "object unusable", "not an ELF file")
    executable = REAL_GOROOT / "bin/go"
    _assert_one_line_error(run_racert(["goroot"], _env(cache_home, executable)), "not a relocatable object")
    assert snapshot_race_directories(goroot_copy) == before


def test_object_not_built_names_the_build_script(goroot_copy, cache_home, tmp_path):
    """A checkout without build/race_linux.syso: the default object is missing."""
    checkout = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT / "tools/racert_cli", checkout / "tools/racert_cli",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(RACERT, checkout / "racert")
    shutil.copy2(REPO_ROOT / "VERSION", checkout / "VERSION")
    before = snapshot_race_directories(goroot_copy)
    for arguments in (["install", "--goroot", str(goroot_copy)], ["go", "build", "-race", "."]):
        completed = subprocess.run([str(checkout / "racert"), *arguments], env=_env(cache_home, None),
                                   capture_output=True, text=True)
        _assert_one_line_error(completed, "object not built", "./build_syso.sh")
    assert snapshot_race_directories(goroot_copy) == before


def test_go_binary_not_found(standin_object, cache_home, tmp_path):
    missing = tmp_path / "no-go"
    for arguments in (["go", "version"], ["install"], ["status"], ["goroot"]):
        completed = run_racert(arguments, _env(cache_home, standin_object, RACERT_GO=str(missing)))
        _assert_one_line_error(completed, "go binary not found", str(missing))
    python_only = tmp_path / "bin"
    python_only.mkdir()
    (python_only / "python3").symlink_to(sys.executable)  # a real interpreter, not a shell shim
    completed = run_racert(["go", "version"], _env(cache_home, standin_object, PATH=str(python_only)))
    _assert_one_line_error(completed, "go binary not found", "no `go` on PATH")


def test_host_must_be_linux_amd64(goroot_copy, standin_object, cache_home):
    setarch = shutil.which("setarch")
    if setarch is None:
        pytest.skip("setarch (util-linux) not installed: cannot present another machine type")
    before = snapshot_race_directories(goroot_copy)
    for arguments in (["install", "--goroot", str(goroot_copy)], ["go", "version"], ["status"]):
        completed = run_racert(arguments, _env(cache_home, standin_object), prefix=(setarch, "i686"))
        _assert_one_line_error(completed, "host is Linux/i686", "linux/amd64")
    assert snapshot_race_directories(goroot_copy) == before


# ---------------------------------------------------------------- help and version

def test_help_documents_every_command(cache_home):
    overview = _ok(run_racert(["--help"], _env(cache_home, None)))
    for command in ("go", "goroot", "env", "install", "uninstall", "status", "clean", "version"):
        assert f"\n  {command} " in overview
        for form in ([command, "--help"], ["help", command]):
            text = _ok(run_racert(form, _env(cache_home, None)))
            assert text.startswith(f"usage: racert"), (form, text)
            assert command in text.splitlines()[0]
    for variable in ("RACERT_GO", "RACERT_OBJECT", "XDG_CACHE_HOME", "--object"):
        assert variable in overview
    assert "GOCACHE" in _ok(run_racert(["go", "--help"], _env(cache_home, None)))


def test_version_and_usage_errors(standin_object, cache_home):
    version = _ok(run_racert(["version"], _env(cache_home, standin_object)))
    # The one source of the version, which the object prints too (go_api/version.h).
    expected = (REPO_ROOT / "VERSION").read_text().strip()
    assert version.splitlines()[0] == f"racert {expected}", version
    assert sha256_file(standin_object)[:12] in version
    unknown = run_racert(["frobnicate"], _env(cache_home, None))
    assert unknown.returncode == 2 and "unknown command" in unknown.stderr
    assert run_racert(["status", "--bogus"], _env(cache_home, None)).returncode == 2


def test_go_arguments_pass_through_untouched(standin_object, cache_home):
    """Flags after `go` belong to go, even ones racert also knows."""
    completed = run_racert(["go", "help", "build"], _env(cache_home, standin_object))
    assert "usage: go build" in _ok(completed)
    completed = run_racert(["go", "env", "-json", "GOROOT"], _env(cache_home, standin_object))
    assert json.loads(_ok(completed))["GOROOT"] == str(REAL_GOROOT)


def test_clean_removes_views(standin_object, tmp_path):
    cache = tmp_path / "cache"
    view = Path(_ok(run_racert(["goroot"], _env(cache, standin_object))).strip())
    assert str(view) in _ok(run_racert(["clean"], _env(cache, None)))
    assert not view.exists() and (REAL_GOROOT / "VERSION").is_file()
    assert "gocache" in _ok(run_racert(["clean", "--all"], _env(cache, None)))
    assert "nothing to remove" in _ok(run_racert(["clean", "--all"], _env(cache, None)))

"""End-to-end: race-free Go programs built with racert's object behave.

Each program under tests/e2e/fixtures/programs checks its own results and prints
"OK <name>" as its last line. Built with ``racert go build -race`` for every
toolchain x link mode, each must exit 0, print that line, and print neither a
race report (the programs are race-free: any report is a false positive) nor
a Go runtime fatal error.

Binaries are built once per (toolchain, link mode) by a session fixture; the
first build per toolchain compiles race-instrumented std into racert's private
GOCACHE and is slow, later ones reuse it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import helpers_go as hg

TOOLCHAINS = hg.discover_toolchains()
PROGRAMS = hg.program_names()

# Two builds at a time: cmd/go parallelises internally, but each program's
# final link is mostly single-threaded, and this machine has 2 cores.
BUILD_WORKERS = 2


@pytest.fixture(scope="session", params=TOOLCHAINS, ids=[t.id for t in TOOLCHAINS])
def toolchain(request) -> hg.Toolchain:
    return request.param


@pytest.fixture(scope="session", params=list(hg.LINK_MODES), ids=list(hg.LINK_MODES))
def link_mode(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def program_builds(toolchain, link_mode, tmp_path_factory) -> dict[str, hg.Build]:
    """Build every program for one (toolchain, link mode); failures are kept per program."""
    out_dir = tmp_path_factory.mktemp(f"programs-{toolchain.id}-{link_mode}")
    flags = hg.LINK_MODES[link_mode]

    def build(name: str) -> tuple[str, hg.Build]:
        return name, hg.build_race_binary(toolchain, hg.PROGRAMS_DIR / name, out_dir / name, flags)

    # The first build fills the private cache (race-instrumented std); doing
    # it alone avoids two builds compiling the same packages at once.
    first, *rest = PROGRAMS
    builds = dict([build(first)])
    with ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
        builds.update(pool.map(build, rest))
    return builds


def test_toolchains_found():
    assert TOOLCHAINS, "no Go toolchain on PATH"


@pytest.mark.parametrize("program", PROGRAMS)
def test_program_runs_clean(program, program_builds, toolchain, link_mode):
    build = program_builds[program]
    assert build.ok, f"racert go build -race failed ({toolchain.version}, {link_mode}):\n{build.output}"

    # cgo programs always use the host linker; pure-Go programs only when asked.
    wants_external = link_mode == "external" or program == "cgo"
    assert hg.is_externally_linked(build.binary) == wants_external, (
        f"{program} was linked {'internally' if wants_external else 'externally'}, "
        f"expected {'external' if wants_external else 'internal'} linking"
    )

    run = hg.run_race_binary(build.binary)
    assert "DATA RACE" not in run.combined, f"false positive in race-free program {program}:\n{run.describe()}"
    assert "fatal error" not in run.combined, f"Go runtime fatal error in {program}:\n{run.describe()}"
    assert run.returncode == 0, f"{program} failed:\n{run.describe()}"
    assert hg.last_line(run.stdout) == f"OK {program}", f"{program} did not report success:\n{run.describe()}"


@pytest.mark.parametrize("tc", TOOLCHAINS, ids=[t.id for t in TOOLCHAINS])
def test_pie_with_race(tc, tmp_path):
    """Go rejects -buildmode=pie with -race on linux/amd64; if a Go accepts it, the result must work."""
    binary = tmp_path / "channels-pie"
    build = hg.build_race_binary(tc, hg.PROGRAMS_DIR / "channels", binary, ["-buildmode=pie"])
    if build.returncode != 0:
        assert "-buildmode=pie not supported when -race is enabled" in build.output, (
            f"PIE build failed for an unexpected reason:\n{build.output}"
        )
        return
    run = hg.run_race_binary(binary)
    assert "DATA RACE" not in run.combined and "fatal error" not in run.combined, run.describe()
    assert run.returncode == 0 and hg.last_line(run.stdout) == "OK channels", run.describe()

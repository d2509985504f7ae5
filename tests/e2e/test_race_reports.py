"""End-to-end: racert reports a real data race the way Go's race detector does.

The README demo (tests/e2e/fixtures/demo/racy) has two goroutines incrementing one plain
counter with no synchronization. Built with ``racert go build -race`` and run
with ``GORACE=atexit_sleep_ms=0``, it must print a race report, the
``Found N data race(s)`` line at exit (N >= 1), and exit with status 66.

These tests fail with the no-detection floor object by design: they are the
real expectation for the detection core and the report printer.
"""

from __future__ import annotations

import re

import pytest

import helpers_go as hg

TOOLCHAINS = hg.discover_toolchains()


@pytest.mark.parametrize("link_mode", list(hg.LINK_MODES))
@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=[t.id for t in TOOLCHAINS])
def test_racy_demo_is_reported(toolchain, link_mode, tmp_path):
    binary = tmp_path / "racy"
    build = hg.build_race_binary(toolchain, hg.RACY_DEMO_DIR, binary, hg.LINK_MODES[link_mode])
    assert build.ok, f"racert go build -race failed:\n{build.output}"

    run = hg.run_race_binary(binary)
    assert run.stdout.startswith("counter = "), f"the demo did not run to completion:\n{run.describe()}"
    assert "fatal error" not in run.combined, run.describe()
    assert "WARNING: DATA RACE" in run.stderr, f"no race report:\n{run.describe()}"
    found = re.search(r"^Found (\d+) data race\(s\)$", run.stderr, re.MULTILINE)
    assert found and int(found.group(1)) >= 1, f"no 'Found N data race(s)' line:\n{run.describe()}"
    assert run.returncode == 66, f"exit status {run.returncode}, want 66:\n{run.describe()}"

"""End-to-end: a few standard-library test suites pass the same with racert.

Runs scripts/stdlib_compare.py for a small, quick subset (sync, sync/atomic,
context) with every toolchain: each package must pass or fail exactly as with
the official object, and racert must print no race report. The full package
list is run by hand or in CI: ``scripts/stdlib_compare.py``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import helpers_go as hg

TOOLCHAINS = hg.discover_toolchains()
SCRIPT = hg.SCRIPTS_DIR / "stdlib_compare.py"
QUICK_PACKAGES = ["sync", "sync/atomic", "context"]


@pytest.mark.parametrize("toolchain", TOOLCHAINS, ids=[t.id for t in TOOLCHAINS])
def test_quick_stdlib_packages_match_official(toolchain, tmp_path):
    hg.require_racert_cli()
    go = toolchain.go or "go"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--go", go, "--log-dir", str(tmp_path), "--packages", *QUICK_PACKAGES],
        cwd=hg.REPO_ROOT,
        env=toolchain.env(),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert proc.returncode == 0, f"stdlib comparison failed ({toolchain.version}):\n{proc.stdout}\n{proc.stderr}"

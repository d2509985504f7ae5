"""A race whose first conflicting earlier access pairs with the writer exactly as
an earlier report did (a duplicate under suppress_equal_stacks) while another
earlier access makes a distinct pair: the distinct pair must be reported, as
the official runtime does (tests/e2e/fixtures/reports/hidden_pair)."""

from __future__ import annotations

import pytest

import helpers_go as hg
import helpers_reports as hr

FAST = "atexit_sleep_ms=0"


@pytest.fixture(scope="session")
def builds(tmp_path_factory) -> hr.GoBuilds:
    return hr.session_builds(tmp_path_factory)


@pytest.fixture(scope="session", params=hr.toolchain_params())
def toolchain(request) -> hg.Toolchain:
    return request.param


def check_both_pairs(run: hr.ProgramRun, source) -> None:
    assert run.returncode == 66, hr.describe(run)
    parsed = hr.parse_output(run.stderr)
    assert len(parsed.reports) == 2 and parsed.found == [2], f"want W-C on y and W-A on x:\n{hr.describe(run)}"
    w_line = hr.line_of(source, "w_writes")
    previous_lines = []
    for report in parsed.reports:
        assert report.current.frames[0].line == w_line, report.text
        previous_lines.append(report.previous.frames[0].line)
    assert previous_lines == [hr.line_of(source, "c_reads"), hr.line_of(source, "a_reads")], hr.describe(run)
    assert parsed.reports[0].current.address != parsed.reports[1].current.address


def test_distinct_pair_behind_a_duplicate_is_reported(builds, toolchain):
    source = hr.program_source("hidden_pair")
    check_both_pairs(hr.run_program(builds.program(toolchain, "hidden_pair"), FAST), source)


def test_the_official_runtime_reports_the_same_two_pairs(builds, toolchain):
    if not hr.goroot_has_official_object(hr.real_goroot(toolchain)):
        pytest.skip("the toolchain's GOROOT does not hold its official race object")
    source = hr.program_source("hidden_pair")
    check_both_pairs(hr.run_program(builds.official_program(toolchain, "hidden_pair"), FAST), source)

"""End-to-end: the official runtime's GORACE options beyond README's basic
table, with the official object as the oracle.

The official object's own ``GORACE=help=1`` list is read at run time; every
option in it must be accepted by racert without a warning. The options that
change what a Go program does or prints are run on both objects and must
give the same result: report_bugs, print_full_thread_history, log_exe_name,
log_suffix, include, include_if_exists, disable_coredump, abort_on_error, and
the exit status of unusable options. README.md ("GORACE options") lists the
rest as meaningless for Go programs.
"""

from __future__ import annotations

import re
import resource
import signal
import subprocess
from pathlib import Path

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


def both(builds, toolchain, program: str) -> dict[str, Path]:
    return {"official": builds.official_program(toolchain, program), "racert": builds.program(toolchain, program)}


def describe_both(runs: dict[str, hr.ProgramRun]) -> str:
    return "\n".join(f"--- {who}: {hr.describe(run)}" for who, run in runs.items())


def official_option_list(binary: Path) -> list[tuple[str, str]]:
    """(name, current value) of every option the official object's help=1 prints."""
    run = hr.run_program(binary, f"{FAST} help=1")
    listing = run.stderr.split("==================")[0]
    options = re.findall(r"^\t(\w+)\n\t\t- .*?\(Current Value: ?(.*?)\)\n", listing, re.M | re.S)
    assert len(options) > 50, f"could not read the official option list:\n{listing[:2000]}"
    return options


# Options that need a file or print something whatever their value.
_NOT_SET_BLINDLY = {"help", "include", "include_if_exists", "log_path", "suppressions", "atexit_sleep_ms"}


def test_every_official_option_is_accepted(builds, toolchain):
    binaries = both(builds, toolchain, "simple")
    options = official_option_list(binaries["official"])
    # help prints hexadecimal values that the official parser only takes as decimal
    pairs = [f"{name}='{int(value, 16) if re.fullmatch(r'0x[0-9a-f]+', value) else value}'"
             for name, value in options if name not in _NOT_SET_BLINDLY and value != "<null>" and "'" not in value]
    gorace = " ".join(pairs) + f" {FAST}"
    runs = {who: hr.run_program(binary, gorace) for who, binary in binaries.items()}
    assert runs["racert"].returncode == runs["official"].returncode == 66, describe_both(runs)
    assert "racert: warning" not in runs["racert"].stderr, describe_both(runs)
    for run in runs.values():
        parsed = hr.parse_output(run.stderr)
        assert len(parsed.reports) == 1 and parsed.found == [1], describe_both(runs)
    help_text = hr.run_program(binaries["racert"], f"{FAST} help=1").stderr
    listed = set(re.findall(r"^\t([a-z0-9_]+)$", help_text, re.M))
    assert {name for name, _ in options} <= listed, sorted({name for name, _ in options} - listed)


def test_report_bugs_off_reports_nothing_and_exits_zero(builds, toolchain):
    binaries = both(builds, toolchain, "simple")
    runs = {who: hr.run_program(binary, f"{FAST} report_bugs=0") for who, binary in binaries.items()}
    for who, run in runs.items():
        assert run.returncode == 0 and run.stderr == "", f"{who}:\n{describe_both(runs)}"
    assert runs["racert"].stdout == runs["official"].stdout


def _normalized(text: str, goroot: str) -> str:
    """Report text without what differs between two builds: GOROOT's spelling,
    addresses (data moves with the object's size) and code offsets."""
    text = text.replace(goroot.rstrip("/") + "/", "$GOROOT/")
    text = re.sub(r"/\S*/racert/views/[^/\s]+/", "$GOROOT/", text)
    text = re.sub(r" at 0x[0-9a-f]+ by ", " at ADDR by ", text)
    return re.sub(r" \+0x[0-9a-f]+$", " +OFF", text, flags=re.M)


def _labelled(text: str) -> str:
    """Goroutine numbers replaced by where the goroutine was created: which
    numbers the runtimes hand out, and which leaf runs second, vary from run
    to run (the scheduler decides)."""
    labels = {}
    for number, location in re.findall(r"^Goroutine (\d+) \(\w+\) created at:\n  .*\n\s+(\S+:\d+) ", text, re.M):
        labels[number] = f"<created at {Path(location).name}>"
    text = re.sub(r"(?<=oroutine )(\d+)", lambda m: labels.get(m.group(1), m.group(1)), text)
    return text


def test_print_full_thread_history_matches_the_official_runtime(builds, toolchain):
    binaries = both(builds, toolchain, "ancestors")
    goroot = str(hr.real_goroot(toolchain))
    for option, blocks in (("", 2), ("print_full_thread_history=1", 5)):
        texts: dict[str, list[str]] = {"official": [], "racert": []}
        # Run each until both have shown the same race order (the scheduler picks
        # which leaf writes second), then compare.
        for attempt in range(12):
            for who, binary in binaries.items():
                run = hr.run_program(binary, f"{FAST} {option}")
                assert run.returncode == 66, hr.describe(run)
                texts[who].append(_labelled(_normalized(run.stderr, goroot)))
            if set(texts["official"]) & set(texts["racert"]):
                break
        common = set(texts["official"]) & set(texts["racert"])
        assert common, "no run of racert printed what a run of the official object printed:\n" + \
            "\n".join(f"--- {who}:\n{text[0]}" for who, text in texts.items())
        for text in texts["racert"]:
            assert text.count("created at:") == blocks, text


def test_log_exe_name_and_log_suffix_name_the_file_as_the_official_runtime(builds, toolchain, tmp_path):
    binaries = both(builds, toolchain, "simple")
    for option in ("log_exe_name=1", "log_suffix=.txt", "log_exe_name=1 log_suffix=.log"):
        names = {}
        for who, binary in binaries.items():
            directory = tmp_path / who / option.replace(" ", "_").replace("=", "-")
            run = hr.run_program(binary, f"{FAST} log_path={directory}/race {option}")
            assert run.returncode == 66 and run.stderr == "", f"{who}:\n{hr.describe(run)}"
            (written,) = list(directory.iterdir())
            assert "WARNING: DATA RACE" in written.read_text()
            names[who] = written.name.replace(str(run.pid), "PID")
        assert names["racert"] == names["official"], names
        assert names["racert"].count("simple") == ("log_exe_name=1" in option), names


def test_include_reads_options_in_place(builds, toolchain, tmp_path):
    binaries = both(builds, toolchain, "simple")
    options = tmp_path / "options"
    options.write_text("halt_on_error=1\nexitcode=7\n")
    nested = tmp_path / "nested"
    nested.write_text(f"include={options}\n")
    cases = [
        (f"include={options}", 7),
        (f"include={options} exitcode=9", 9),
        (f"exitcode=9 include={options}", 7),
        (f"include={nested}", 7),
        (f"include_if_exists={options}", 7),
        (f"include_if_exists={tmp_path}/missing", 66),
        (f"exitcode=4 include={tmp_path}/missing", 4),
    ]
    for gorace, status in cases:
        runs = {who: hr.run_program(binary, f"{FAST} {gorace}") for who, binary in binaries.items()}
        for who, run in runs.items():
            assert run.returncode == status, f"{gorace}:\n{describe_both(runs)}"
    missing = hr.run_program(binaries["racert"], f"include={tmp_path}/missing")
    assert f"{tmp_path}/missing" in missing.stderr and "no such file" in missing.stderr, hr.describe(missing)


def test_include_file_name_substitutions(builds, toolchain, tmp_path):
    binaries = both(builds, toolchain, "simple")
    for who, binary in binaries.items():
        (binary.parent / "simple.racert-include-test").write_text("exitcode=8\n")
        for pattern in ("%d/simple.racert-include-test", "%d/%b.racert-include-test"):
            run = hr.run_program(binary, f"{FAST} include={pattern}")
            assert run.returncode == 8, f"{who} {pattern}:\n{hr.describe(run)}"
        run = hr.run_program(binary, f"{FAST} include={tmp_path}/%p.options")
        assert run.returncode == 66 and f"{tmp_path}/{run.pid}.options" in run.stderr, f"{who}:\n{hr.describe(run)}"


def test_disable_coredump_sets_the_soft_core_limit_to_zero(builds, toolchain):
    binaries = both(builds, toolchain, "suppress")
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if hard == 0:
        pytest.skip("the hard core file size limit is 0 here: nothing to lower")
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 30

    def raise_soft_limit():
        resource.setrlimit(resource.RLIMIT_CORE, (wanted, hard))

    for option, expected in (("", None), ("disable_coredump=1", "0")):
        outputs = {}
        for who, binary in binaries.items():
            completed = subprocess.run([str(binary), "corelimit"], env=hr.clean_env(f"{FAST} {option}"),
                                       capture_output=True, text=True, timeout=60, preexec_fn=raise_soft_limit)
            assert completed.returncode == 0, completed.stdout + completed.stderr
            outputs[who] = completed.stdout
        assert outputs["racert"] == outputs["official"], outputs
        limit = outputs["racert"].split()[-3]
        assert (limit == expected) if expected else (limit != "0"), outputs


def test_bad_options_exit_with_the_exitcode_parsed_so_far(builds, toolchain):
    binaries = both(builds, toolchain, "simple")
    for gorace, status in (("exitcode=5 halt_on_error=x", 5), ("halt_on_error=x exitcode=5", 66),
                           ("exitcode=5 abort_on_error=1 halt_on_error=x", -signal.SIGABRT)):
        runs = {who: hr.run_program(binary, gorace) for who, binary in binaries.items()}
        for who, run in runs.items():
            assert run.returncode == status and run.stdout == "", f"{gorace}:\n{describe_both(runs)}"


def test_abort_on_error_with_halt_on_error_ends_with_sigabrt(builds, toolchain):
    """racert prints the report and dies by SIGABRT's default action. The
    official object calls abort() with Go's signal handlers installed, which
    ends in a Go crash instead (a goroutine dump and status 2, or a fault);
    neither exits with exitcode."""
    binaries = both(builds, toolchain, "simple")
    runs = {who: hr.run_program(binary, f"{FAST} halt_on_error=1 abort_on_error=1") for who, binary in binaries.items()}
    assert runs["official"].returncode not in (0, 66), describe_both(runs)
    ours = runs["racert"]
    assert ours.returncode == -signal.SIGABRT, hr.describe(ours)
    assert len(hr.parse_output(ours.stderr).reports) == 1, hr.describe(ours)
    assert "simple: after the race" not in ours.stdout

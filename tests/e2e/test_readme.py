"""The README's first command must keep working: it is what a new user runs.

The test takes the command from README.md itself (first line of the first
shell block), drops the setup steps the test run has already done (toolchain
and object build are earlier stages of run_all_tests.sh), and runs the demo
part exactly as written.
"""
import os
import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def readme_main_command() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no ```sh block"
    commands = [line for line in block.group(1).splitlines() if line and not line.startswith("#")]
    assert len(commands) >= 2, "README.md should start with two commands"
    return commands[0]


def test_readme_second_command_is_the_ci_test_command():
    text = (REPO_ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert commands[1].strip().lstrip("./") in ci, f"{commands[1]!r} is not what .ci/run runs"


def test_readme_demo_reports_the_race():
    command = readme_main_command()
    demo = [part.strip() for part in command.split("&&") if "racert go" in part]
    assert demo, f"no `racert go` step in the README command: {command!r}"
    env = dict(os.environ, GORACE="atexit_sleep_ms=0")
    run = subprocess.run(demo[0], shell=True, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = run.stdout + run.stderr
    assert "WARNING: DATA RACE" in output, output[-3000:]
    assert re.search(r"Found \d+ data race\(s\)", output), output[-3000:]
    assert "exit status 66" in output, output[-3000:]

"""`racert go` through -toolexec (tools/racert_cli/toolexec.py, goarchive.py).

- the archive helper: parse/serialize round trip, race member replacement
  (odd sizes, padding), cgo import directives added once;
- cache safety: with one shared GOCACHE, racert and plain `go build -race` of the
  same program, in either order, each link their own object (marker strings of
  each object in the binary), for every toolchain;
- a -toolexec the user gives (command line or GOFLAGS) still runs every tool,
  and the linked object is still racert's;
- paths: `go env GOROOT` and `go list -f {{.Dir}} fmt` run by a test under
  `racert go test` name the real GOROOT.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import helpers_go as hg
import helpers_reports as hr

sys.path.insert(0, str(hg.REPO_ROOT / "tools"))

from racert_cli import goarchive, toolexec  # noqa: E402
from racert_cli.errors import RacertError  # noqa: E402

RACERT_MARK = b"racert: warning: unknown GORACE option"
OFFICIAL_MARK = b"ThreadSanitizer"

PROGRAM = """\
package main

import "fmt"

func main() {
	done := make(chan int)
	x := 0
	go func() { x = 1; done <- 1 }()
	<-done
	fmt.Println(x)
}
"""

PATHS_TEST = """\
package main

import (
	"os/exec"
	"strings"
	"testing"
)

func TestPaths(t *testing.T) {
	for _, args := range [][]string{{"env", "GOROOT"}, {"list", "-f", "{{.Dir}}", "fmt"}} {
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("go %v: %v\\n%s", args, err, out)
		}
		t.Logf("probe: go %s = %s", args[0], strings.TrimSpace(string(out)))
	}
}
"""


def _member(name: str, data: bytes) -> goarchive.Member:
    header = b"%-16s%-12d%-6d%-6d%-8o%-10d`\n" % (name.encode(), 0, 0, 0, 0o644, len(data))
    return goarchive.Member(header=header, data=data)


def _go_object(directives: list | None) -> bytes:
    text = b"go object linux amd64 go1.99 X:none\n"
    if directives is not None:
        text += b"\n$$\n\n$$\n\n\n$$  // cgo\n" + json.dumps(directives).encode() + b"\n\n$$\n\n"
    return text + b"\n!\n" + b"\x00binary$$  // cgo\n"


def test_archive_round_trip_and_race_member_replacement():
    members = [_member("__.PKGDEF", b"abc"), _member("_go_.o", _go_object(None)),
               _member("race_linux.syso", b"odd"), _member("other.syso", b"x" * 4)]
    content = goarchive.serialize(members)
    assert content.startswith(b"!<arch>\n") and len(content) % 2 == 0
    parsed = goarchive.parse(content)
    assert [m.name for m in parsed] == ["__.PKGDEF", "_go_.o", "race_linux.syso", "other.syso"]
    assert goarchive.serialize(parsed) == content
    replaced, count = goarchive.replace_race_object(parsed, b"racert object!")
    assert count == 1
    again = goarchive.parse(goarchive.serialize(replaced))
    assert [m.data for m in again] == [b"abc", _go_object(None), b"racert object!", b"xxxx"]
    # Go 1.19's member name: race_linux_amd64.syso cut to 16 bytes.
    legacy, count = goarchive.replace_race_object([_member("race_linux_amd64", b"1")], b"22")
    assert count == 1 and legacy[0].data == b"22"
    with pytest.raises(RacertError):
        goarchive.parse(b"not an archive")
    with pytest.raises(RacertError):
        goarchive.parse(content[:-3])


def test_cgo_imports_are_added_once_and_only_to_the_cgo_section():
    directives = [["cgo_ldflag", "-O2"], ["cgo_import_dynamic", "exit", "exit#GLIBC_2.2.5", "libc.so.6"]]
    members = [_member("__.PKGDEF", b""), _member("_go_.o", _go_object(directives))]
    assert goarchive.cgo_imported_names(members) == {"exit"}
    updated, added = goarchive.add_dynamic_imports(members, ["exit", "memcpy", "getenv"], "libc.so.6")
    assert added == ["memcpy", "getenv"]
    assert goarchive.cgo_imported_names(updated) == {"exit", "memcpy", "getenv"}
    data = updated[1].data
    assert data.endswith(b"\n!\n\x00binary$$  // cgo\n")  # the binary part is untouched
    assert b'["cgo_import_dynamic","memcpy","memcpy","libc.so.6"]' in data
    _, added_again = goarchive.add_dynamic_imports(updated, ["memcpy"], "libc.so.6")
    assert added_again == []
    with pytest.raises(RacertError):
        goarchive.add_dynamic_imports([_member("_go_.o", _go_object(None))], ["memcpy"], "libc.so.6")


def test_user_toolexec_is_taken_out_of_arguments_and_goflags():
    take = toolexec.take_user_toolexec
    assert take(["build", "-race", "."], "") == (["build", "-race", "."], "", None)
    assert take(["build", "-toolexec", "a b", "."], "-mod=mod") == (["build", "."], "-mod=mod", "a b")
    assert take(["test", "--toolexec=x", "./...", "-args", "-toolexec=y"], "-toolexec=z -v") == \
        (["test", "./...", "-args", "-toolexec=y"], "-v", "x")
    assert take(["vet"], "-toolexec=z") == (["vet"], "", "z")
    assert take(["run", ".", "-toolexec=arg"], "") == (["run", ".", "-toolexec=arg"], "", None)
    assert toolexec.split_quoted(" 'a b' \"c\"  d ") == ["a b", "c", "d"]
    with pytest.raises(RacertError):
        toolexec.split_quoted("'a")


@pytest.fixture(scope="module", params=hr.toolchain_params(with_releases=True))
def toolchain(request) -> hg.Toolchain:
    return request.param


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("toolexec-program")
    (directory / "go.mod").write_text("module probe\n\ngo 1.19\n")
    (directory / "main.go").write_text(PROGRAM)
    (directory / "main_test.go").write_text(PATHS_TEST)
    return directory


def _marks(binary: Path) -> tuple[bool, bool]:
    data = binary.read_bytes()
    return RACERT_MARK in data, OFFICIAL_MARK in data


def _plain_go(toolchain: hg.Toolchain, args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([toolchain.go or "go", *args], cwd=str(cwd), env=toolchain.env(env),
                          capture_output=True, text=True, timeout=hg.BUILD_TIMEOUT_S)


def test_racert_and_official_links_never_share_cache_entries(toolchain, program_dir, tmp_path):
    goroot = hr.real_goroot(toolchain)
    if not hr.goroot_has_official_object(goroot):
        pytest.skip(f"{goroot} does not hold Go's official race object")
    shared = {"GOCACHE": str(tmp_path / "gocache")}
    sequence = ["racert", "official", "racert", "official"]
    for step, who in enumerate(sequence):
        binary = tmp_path / f"{step}-{who}"
        args = ["build", "-race", "-o", str(binary), "."]
        if who == "racert":
            proc = hg.racert_go(toolchain, args, cwd=program_dir, env_extra=shared)
        else:
            proc = _plain_go(toolchain, args, program_dir, shared)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert _marks(binary) == ((True, False) if who == "racert" else (False, True)), f"step {step}: {who}"
    # The other order, through go test's cached binaries and results too.
    for who in ("official", "racert"):
        args = ["test", "-race", "-run", "TestPaths", "."]
        if who == "racert":
            proc = hg.racert_go(toolchain, args, cwd=program_dir, env_extra=shared)
        else:
            proc = _plain_go(toolchain, args, program_dir, shared)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "(cached)" not in proc.stdout, f"{who} reused the other's test result: {proc.stdout}"


def test_a_users_toolexec_is_composed(toolchain, program_dir, tmp_path):
    log = tmp_path / "tools.log"
    logger = tmp_path / "log tool.sh"
    logger.write_text(f'#!/bin/sh\necho "${{1##*/}} $TOOLEXEC_IMPORTPATH" >> "{log}"\nexec "$@"\n')
    logger.chmod(0o755)
    plain_path = tmp_path / "logger"  # GOFLAGS cannot carry a space before Go 1.20
    os.symlink(logger, plain_path)
    # Every tool goes through the logger; without -a, compile shows up at least in
    # the `compile -V=full` cmd/go runs through -toolexec for its cache keys.
    cases = [(["build", "-race", f"-toolexec='{logger}'", "-o", "BIN", "."], {}),
             (["build", "-race", "-o", "BIN", "."], {"GOFLAGS": f"-toolexec={plain_path}"})]
    for number, (args, extra) in enumerate(cases):
        binary = tmp_path / f"bin{number}"
        log.write_text("")
        proc = hg.racert_go(toolchain, [str(binary) if a == "BIN" else a for a in args], cwd=program_dir,
                            env_extra=extra)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        tools = {line.split()[0] for line in log.read_text().splitlines() if line.strip()}
        assert {"compile", "link"} <= tools, tools
        assert _marks(binary) == (True, False)


def test_programs_run_by_go_test_see_the_real_goroot(toolchain, program_dir):
    goroot = str(hr.real_goroot(toolchain))
    proc = hg.racert_go(toolchain, ["test", "-race", "-count=1", "-v", "-run", "TestPaths", "."], cwd=program_dir)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert f"probe: go env = {goroot}\n" in output, output
    assert f"probe: go list = {goroot}/src/fmt\n" in output, output
    assert "racert/views" not in output, output

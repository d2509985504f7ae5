"""Glue between the Go end-to-end tests and the racert CLI.

Every e2e test that builds or runs Go code with racert's object goes through
this module, so *how* racert is invoked lives in exactly one place:

* ``racert go <args>`` runs the go command against a private GOROOT view whose
  race object is racert's, with a private GOCACHE (the CLI's contract).
* ``RACERT_GO=/path/to/go`` selects another Go toolchain for that view.
* ``RACERT_CLI`` (environment, optional) points at another racert executable;
  the default is ``<repo>/racert``. It exists so the tests can be developed
  against a stand-in before the real CLI lands; normal runs never set it.

Toolchains are identified by the ``go`` binary passed as RACERT_GO; ``None``
means "racert's default", i.e. the machine's ``go``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The Go programs the e2e tests build, one directory per program.
FIXTURES_DIR = REPO_ROOT / "tests" / "e2e" / "fixtures"
PROGRAMS_DIR = FIXTURES_DIR / "programs"
RACY_DEMO_DIR = FIXTURES_DIR / "demo" / "racy"
# The runnable scripts, some of which the e2e tests run or import.
SCRIPTS_DIR = REPO_ROOT / "scripts"

# Where Debian's backported Go 1.23 lives; tested as a second toolchain when present.
DEBIAN_GO_1_23 = Path("/usr/lib/go-1.23/bin/go")

# A cold private GOCACHE makes the first race build compile all of std with
# instrumentation (tens of seconds per toolchain); later builds take ~1 s.
BUILD_TIMEOUT_S = 900
RUN_TIMEOUT_S = 120

# Environment variables that would make one toolchain's run leak into another's
# or change the programs' behaviour behind the tests' back.
_SCRUBBED_ENV = ("RACERT_GO", "GOROOT", "GOCACHE", "GOFLAGS", "GORACE", "GOMAXPROCS", "GODEBUG")


def racert_cli() -> Path:
    """The racert executable the tests drive."""
    override = os.environ.get("RACERT_CLI")
    return Path(override) if override else REPO_ROOT / "racert"


def require_racert_cli() -> Path:
    """Return the CLI path, or raise with a message saying what is missing."""
    cli = racert_cli()
    if not (cli.is_file() and os.access(cli, os.X_OK)):
        raise RuntimeError(f"racert CLI not found or not executable: {cli}")
    return cli


@dataclass(frozen=True)
class Toolchain:
    """A Go toolchain the tests run racert with."""

    go: str | None  # passed as RACERT_GO; None means racert's default (the machine's go)
    version: str  # GOVERSION, e.g. "go1.26.8"

    @property
    def id(self) -> str:
        """Short test id: "go1.26" (the default toolchain is marked "default")."""
        match = re.match(r"go(\d+)\.(\d+)", self.version)
        short = f"go{match.group(1)}.{match.group(2)}" if match else self.version
        return f"{short}-default" if self.go is None else short

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """A clean environment for running racert with this toolchain."""
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        if self.go is not None:
            env["RACERT_GO"] = self.go
        env["GOTOOLCHAIN"] = "local"  # never download a toolchain mid-test
        if self.go is not None and "/golang.org/toolchain@" in self.go and go_minor(self.version) == 19:
            # Go 1.19's package index fails on every module ("import of unknown
            # directory") when GOROOT lies in the module cache, where these release
            # trees live; real installs are elsewhere. Turn the index off.
            env["GODEBUG"] = "goindex=0"
        if extra:
            env.update(extra)
        return env


def _go_version(go_binary: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["GOTOOLCHAIN"] = "local"
    out = subprocess.run(
        [go_binary, "env", "GOVERSION"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout.strip()


def discover_toolchains() -> list[Toolchain]:
    """The machine's go (racert's default) and, if installed, Debian's Go 1.23.

    Called at collection time: it only asks each go binary for its version and
    never runs racert, so a broken CLI fails tests rather than collection.
    """
    toolchains = []
    machine_go = shutil.which("go")
    if machine_go:
        toolchains.append(Toolchain(go=None, version=_go_version(machine_go)))
    if DEBIAN_GO_1_23.exists():
        toolchains.append(Toolchain(go=str(DEBIAN_GO_1_23), version=_go_version(str(DEBIAN_GO_1_23))))
    return toolchains


GO_RELEASE_SCRIPT = REPO_ROOT / "scripts" / "go_release.sh"


def matrix_releases(which: str = "ci") -> list[str]:
    """Releases of scripts/go_releases.txt ("ci": oldest, middle, newest), e.g. ["1.19.13", ...]."""
    out = subprocess.run([str(GO_RELEASE_SCRIPT), "list", which], capture_output=True, text=True,
                         timeout=60, check=True)
    return out.stdout.split()


def release_goroot(version: str) -> Path:
    """The real GOROOT of a Go release in the module cache (scripts/ensure_toolchain.sh
    fetches the CI releases; this fetches any other one). Read-only: copy before changing."""
    out = subprocess.run([str(GO_RELEASE_SCRIPT), "goroot", version], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"cannot get Go {version}: {out.stderr.strip()}")
    return Path(out.stdout.strip())


def release_toolchains(which: str = "edges") -> list[tuple[str, Toolchain | None]]:
    """Real releases of the version matrix as toolchains, for tests that must see
    version differences: "edges" is the oldest and the newest release CI tests
    (scripts/go_releases.txt), "ci" all of those. Each is (release, toolchain), the
    toolchain None when the release is not on this machine and cannot be fetched
    (scripts/ensure_toolchain.sh fetches them)."""
    releases = matrix_releases("ci")
    if which == "edges":
        releases = [releases[0], releases[-1]]
    found = []
    for release in releases:
        try:
            go = release_goroot(release) / "bin" / "go"
            found.append((release, Toolchain(go=str(go), version=_go_version(str(go)))))
        except (RuntimeError, subprocess.SubprocessError, OSError):
            found.append((release, None))
    return found


def racert_go(
    toolchain: Toolchain,
    args: list[str],
    *,
    cwd: Path | None = None,
    env_extra: dict[str, str] | None = None,
    timeout: float = BUILD_TIMEOUT_S,
) -> subprocess.CompletedProcess:
    """Run ``racert go <args>`` with the given toolchain; output is captured."""
    cli = require_racert_cli()
    return subprocess.run(
        [str(cli), "go", *args],
        cwd=str(cwd or REPO_ROOT),
        env=toolchain.env(env_extra),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def racert_goroot(toolchain: Toolchain) -> Path:
    """The GOROOT view racert uses for this toolchain (``racert goroot``)."""
    cli = require_racert_cli()
    out = subprocess.run(
        [str(cli), "goroot"], env=toolchain.env(), capture_output=True, text=True, timeout=300, check=True
    )
    return Path(out.stdout.strip())


def program_names() -> list[str]:
    """Every self-checking program under tests/e2e/fixtures/programs (one directory each)."""
    return sorted(p.parent.name for p in PROGRAMS_DIR.glob("*/main.go"))


_BUILD_LINE = re.compile(r"^//go:build (.*)$", re.MULTILINE)
_RELEASE_CONSTRAINT = re.compile(r"^(!?)go1\.(\d+)$")


def _built_by(source: Path, go_version: str | None) -> bool:
    """Whether the Go release `go_version` compiles `source`, judging by its
    `//go:build` line. cmd/go ignores build constraints of files named on its
    command line, so the release constraints (`go1.N`, `!go1.N`: the only ones the
    programs use) are applied here. None means the newest release: every `go1.N`."""
    found = _BUILD_LINE.search(source.read_text())
    if found is None:
        return True
    constraint = _RELEASE_CONSTRAINT.match(found.group(1).strip())
    if constraint is None:
        raise ValueError(f"{source}: only //go:build go1.N or !go1.N is supported here, not {found.group(1)!r}")
    has_release = go_version is None or go_minor(go_version) >= int(constraint.group(2))
    return has_release != (constraint.group(1) == "!")


def program_sources(directory: Path, go_version: str | None = None) -> list[str]:
    """The .go files of a program directory that release `go_version` compiles,
    as paths relative to the repo.

    Programs are built from an explicit file list, which needs no go.mod; this
    is why cgo programs keep their C code in the cgo preamble (a separate .c
    file can only be built as part of a package directory inside a module).
    Checks of library features younger than the oldest tested release live in
    files constrained to the releases that have them (`//go:build go1.21`).
    """
    files = sorted(directory.glob("*.go"))
    if not files:
        raise FileNotFoundError(f"no .go files in {directory}")
    return [str(f.relative_to(REPO_ROOT)) for f in files
            if not f.name.endswith("_test.go") and _built_by(f, go_version)]


# Link modes the programs are built in: Go's default (internal linking for
# pure-Go race programs) and the host linker.
LINK_MODES = {
    "internal-default": [],
    "external": ["-ldflags=-linkmode=external"],
}


@dataclass
class Build:
    """Outcome of building one program."""

    binary: Path
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.binary.exists()


def build_race_binary(
    toolchain: Toolchain, sources_dir: Path, output: Path, extra_flags: list[str]
) -> Build:
    """``racert go build -race <flags> -o output <sources>``."""
    args = ["build", "-race", *extra_flags, "-o", str(output), *program_sources(sources_dir, toolchain.version)]
    proc = racert_go(toolchain, args)
    return Build(binary=output, returncode=proc.returncode, output=proc.stdout + proc.stderr)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def combined(self) -> str:
        return self.stdout + self.stderr

    def describe(self, tail_lines: int = 60) -> str:
        """Exit status plus the tail of both streams, for assertion messages."""
        def tail(text: str) -> str:
            return "\n".join(text.splitlines()[-tail_lines:])

        return f"exit status {self.returncode}\n--- stdout (tail) ---\n{tail(self.stdout)}\n--- stderr (tail) ---\n{tail(self.stderr)}"


def run_race_binary(binary: Path, *, gorace: str = "atexit_sleep_ms=0", timeout: float = RUN_TIMEOUT_S) -> Run:
    """Run a race-built binary with a clean environment and the given GORACE."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["GORACE"] = gorace
    proc = subprocess.run([str(binary)], env=env, capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


_BUILD_INFO_MAGIC = b"\xff Go buildinf:"


def binary_go_version(path: Path) -> str:
    """The Go release a binary was built with ("go1.19.13"), read from the build
    information block the linker embeds: 16-byte aligned, starting with a 14-byte
    magic, a pointer-size byte and a flags byte; with flag bit 2 set (Go 1.18 and
    later) the version follows at offset 32 as a length-prefixed (uvarint) string."""
    data = Path(path).read_bytes()
    at = data.find(_BUILD_INFO_MAGIC)
    while at >= 0 and at % 16:
        at = data.find(_BUILD_INFO_MAGIC, at + 1)
    if at < 0:
        raise ValueError(f"{path}: no Go build information")
    if not data[at + 15] & 2:
        raise ValueError(f"{path}: build information older than Go 1.18")
    position, length, shift = at + 32, 0, 0
    while True:
        byte = data[position]
        position += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    return data[position:position + length].decode()


def go_minor(version: str) -> int:
    """19 for "go1.19.13" (or "devel go1.19-…")."""
    match = re.search(r"go1\.(\d+)", version)
    if match is None:
        raise ValueError(f"cannot read the Go release of {version!r}")
    return int(match.group(1))


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def elf_section_names(path: Path) -> set[str]:
    """Section names of a 64-bit little-endian ELF file (stdlib only).

    Used to tell how a binary was linked: glibc's crt1.o brings a
    ``.note.ABI-tag`` section that only the host (external) linker puts in.
    """
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path} is not a 64-bit little-endian ELF file")
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(index: int) -> tuple[int, int, int]:
        base = shoff + index * shentsize
        name_offset = struct.unpack_from("<I", data, base)[0]
        offset, size = struct.unpack_from("<QQ", data, base + 0x18)
        return name_offset, offset, size

    _, strtab_offset, strtab_size = section(shstrndx)
    strtab = data[strtab_offset : strtab_offset + strtab_size]
    names = set()
    for index in range(shnum):
        name_offset = section(index)[0]
        end = strtab.index(b"\0", name_offset)
        names.add(strtab[name_offset:end].decode())
    return names


def is_externally_linked(path: Path) -> bool:
    return ".note.ABI-tag" in elf_section_names(path)

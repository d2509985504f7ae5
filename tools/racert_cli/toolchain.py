"""Which Go racert works with: the `go` binary, its GOROOT, its version, and where that
version keeps the linux/amd64 race object (docs/go-race-abi-notes.md §3).

Which releases racert serves is not decided here by the version number, except for the
floor: releases before go1.19 are refused (they were built against an older race ABI
and are untested). Any later release, including ones newer than racert itself, is
accepted here; whether racert's object can serve it is decided by abi.py from the
__tsan_* entry points the release's own sources reference.

Invariants:
- A Goroot returned by load_goroot() exists, has src/runtime, has a version of go1.19
  or later and holds every race object location of that version's layout (or, after
  `racert install`, at least the backup of it).
- Locations are relative POSIX paths inside the GOROOT, in a fixed order.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import RacertError

OLDEST_SUPPORTED_MINOR = 19
# The newest release the Go version matrix (scripts/go_matrix.py) has run; newer
# releases are served too when their entry points check out, and `status` says so.
NEWEST_TESTED_MINOR = 27

# Go 1.19 ships one object; 1.20 moved it into two packages chosen by GOAMD64
# (v1/v2 -> amd64v1, v3/v4 -> amd64v3). racert puts the same object in both.
LEGACY_LOCATIONS = ("src/runtime/race/race_linux_amd64.syso",)
SPLIT_LOCATIONS = (
    "src/runtime/race/internal/amd64v1/race_linux.syso",
    "src/runtime/race/internal/amd64v3/race_linux.syso",
)
FIRST_SPLIT_MINOR = 20

BACKUP_SUFFIX = ".racert-orig"

# Environment variable naming the go binary to use instead of the `go` on PATH.
GO_BINARY_ENV = "RACERT_GO"

_VERSION_PATTERN = re.compile(r"\bgo1\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class GoVersion:
    minor: int
    text: str  # as Go spells it, e.g. "go1.23.5" or "devel go1.27-abc123 ..."

    @property
    def is_supported(self) -> bool:
        return self.minor >= OLDEST_SUPPORTED_MINOR

    @property
    def is_newer_than_tested(self) -> bool:
        return self.minor > NEWEST_TESTED_MINOR

    @property
    def short(self) -> str:
        return f"go1.{self.minor}"


@dataclass(frozen=True)
class Goroot:
    path: Path  # absolute, symlinks resolved
    version: GoVersion
    version_file_text: str  # the VERSION file's content ("" when absent)
    locations: tuple[str, ...]


def check_host() -> None:
    """racert's object is linux/amd64 only; anything else would link the wrong code."""
    system, machine = os.uname().sysname, os.uname().machine
    if system != "Linux" or machine not in ("x86_64", "amd64"):
        raise RacertError(
            f"host is {system}/{machine}: racert supports linux/amd64 (x86_64) only")


def find_go_binary() -> Path:
    """$RACERT_GO if set, else the `go` on PATH."""
    configured = os.environ.get(GO_BINARY_ENV)
    if configured:
        candidate = Path(configured)
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
        raise RacertError(f"go binary not found: {GO_BINARY_ENV}={configured} is not an executable file")
    found = shutil.which("go")
    if found is None:
        raise RacertError(f"go binary not found: no `go` on PATH (install Go or set {GO_BINARY_ENV})")
    return Path(found).absolute()


def query_goroot(go_binary: Path) -> Path:
    """`go env GOROOT` of that binary, run outside any module so go.mod cannot make it
    switch toolchains."""
    output = _run_go(go_binary, ["env", "GOROOT"])
    if not output:
        raise RacertError(f"GOROOT not found: `{go_binary} env GOROOT` printed nothing")
    return Path(output)


def load_goroot(path: Path | str) -> Goroot:
    """Validate a GOROOT directory and describe its race object layout."""
    given = Path(path)
    if not given.is_dir():
        raise RacertError(f"GOROOT not found: {given} is not a directory")
    real = Path(os.path.realpath(given))
    if not (real / "src" / "runtime").is_dir():
        raise RacertError(f"GOROOT not found: {given} has no src/runtime, so it is not a Go root")
    version_file_text, version = _read_version(real)
    if not version.is_supported:
        raise RacertError(
            f"unsupported Go version {version.text.splitlines()[0]} in {given}: racert supports "
            f"go1.{OLDEST_SUPPORTED_MINOR} and newer")
    locations = race_object_locations(version)
    for location in locations:
        target = real / location
        if not target.is_file() and not Path(str(target) + BACKUP_SUFFIX).is_file():
            raise RacertError(
                f"unexpected GOROOT layout for {version.text}: {given}/{location} is missing")
    return Goroot(path=real, version=version, version_file_text=version_file_text, locations=locations)


def race_object_locations(version: GoVersion) -> tuple[str, ...]:
    return LEGACY_LOCATIONS if version.minor < FIRST_SPLIT_MINOR else SPLIT_LOCATIONS


def parse_go_version(text: str) -> GoVersion | None:
    match = _VERSION_PATTERN.search(text)
    if match is None:
        return None
    return GoVersion(minor=int(match.group(1)), text=text.strip())


def _read_version(goroot: Path) -> tuple[str, GoVersion]:
    """The VERSION file's first line; a source checkout without one asks its own go."""
    version_file = goroot / "VERSION"
    if version_file.is_file():
        content = version_file.read_text(errors="replace")
        first_line = content.splitlines()[0] if content else ""
        parsed = parse_go_version(first_line)
        if parsed is None:
            raise RacertError(f"cannot read the Go version: {version_file} starts with {first_line!r}")
        return content, parsed
    go_binary = goroot / "bin" / "go"
    if not go_binary.is_file():
        raise RacertError(f"cannot read the Go version: {goroot} has neither VERSION nor bin/go")
    reported = _run_go(go_binary, ["env", "GOVERSION"], goroot=goroot)
    parsed = parse_go_version(reported)
    if parsed is None:
        raise RacertError(f"cannot read the Go version: `{go_binary} env GOVERSION` printed {reported!r}")
    return "", parsed


def _run_go(go_binary: Path, arguments: list[str], goroot: Path | None = None) -> str:
    environment = dict(os.environ, GOTOOLCHAIN="local", GOFLAGS="")
    if goroot is not None:
        environment["GOROOT"] = str(goroot)
    try:
        completed = subprocess.run(
            [str(go_binary), *arguments], cwd="/", env=environment,
            capture_output=True, text=True, timeout=60)
    except OSError as error:
        raise RacertError(f"go binary not usable: {go_binary}: {error.strerror}") from None
    if completed.returncode != 0:
        detail = (completed.stderr.strip().splitlines() or ["no message"])[-1]
        raise RacertError(f"`{go_binary} {' '.join(arguments)}` failed: {detail}")
    return completed.stdout.strip()

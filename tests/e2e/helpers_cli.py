"""Helpers for test_racert_cli.py: running the racert script, hashing GOROOT race
object locations, and telling from a binary's symbol table which race object it
linked.

Symbol tables are read with `go tool nm -size` (not with racert's own ELF reader), so
the proof that racert linked an object does not trust the code under test.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RACERT = REPO_ROOT / "racert"
REAL_GO = "/usr/local/go/bin/go"
DEBIAN_GO_1_23 = Path("/usr/lib/go-1.23/bin/go")

SPLIT_LOCATIONS = (
    "src/runtime/race/internal/amd64v1/race_linux.syso",
    "src/runtime/race/internal/amd64v3/race_linux.syso",
)
LEGACY_LOCATION = "src/runtime/race/race_linux_amd64.syso"
BACKUP_SUFFIX = ".racert-orig"
INSTALL_MANIFEST = "src/runtime/race/racert-install.json"

# Variables that would steer racert or go away from what a test sets up.
_SCRUBBED = ("RACERT_GO", "RACERT_OBJECT", "RACERT_VIEW_LINKS", "GOROOT", "GOCACHE", "GOFLAGS",
             "GORACE", "GOOS", "GOARCH", "GOAMD64", "XDG_CACHE_HOME")


def clean_environment(**overrides: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key not in _SCRUBBED}
    environment["GOTOOLCHAIN"] = "local"
    environment.update(overrides)
    return environment


def run_racert(arguments: list[str], environment: dict[str, str], cwd: Path | None = None,
               timeout: int = 900, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, str(RACERT), *arguments], env=environment, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def link_copy(source: Path, destination: Path) -> Path:
    """A copy of a Go tree whose files are hard links to the original's and whose
    directories are new and writable. Never change a file of it in place (that would
    change the original, e.g. a read-only module cache tree): use replace_file."""
    subprocess.run(["cp", "-al", str(source), str(destination)], check=True)
    subprocess.run(["find", str(destination), "-type", "d", "-exec", "chmod", "u+w", "{}", "+"], check=True)
    return destination


def replace_file(path: Path, text: str) -> None:
    """Give `path` new content as a new file (its old inode, maybe shared, is untouched)."""
    path.unlink()
    path.write_text(text)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot_race_directories(goroot: Path) -> dict[str, str]:
    """sha256 of every file in the directories racert may touch (backups, manifest and
    probe files included), keyed by path relative to goroot."""
    directories = {goroot / "src/runtime/race", goroot / "src/runtime/race/internal/amd64v1",
                   goroot / "src/runtime/race/internal/amd64v3"}
    snapshot = {}
    for directory in directories:
        if directory.is_dir():
            for entry in directory.iterdir():
                if entry.is_file():
                    snapshot[str(entry.relative_to(goroot))] = sha256_file(entry)
    return snapshot


@dataclass(frozen=True)
class Symbol:
    size: int
    kind: str  # nm letter: T text, D data, B bss, U undefined, ...


def nm_symbols(path: Path, go: str = REAL_GO) -> dict[str, Symbol]:
    """Defined symbols of an object file or executable, via `go tool nm -size`."""
    completed = subprocess.run([go, "tool", "nm", "-size", str(path)], capture_output=True,
                               text=True, check=True, env=clean_environment())
    symbols = {}
    for line in completed.stdout.splitlines():
        fields = line.split()
        # "addr size kind name" for defined symbols, "size U name" for undefined ones.
        if len(fields) >= 4 and fields[2] != "U":
            symbols[fields[3]] = Symbol(size=int(fields[1]), kind=fields[2])
    return symbols


def entry_point_sizes(symbols: dict[str, Symbol]) -> dict[str, int]:
    return {name: symbol.size for name, symbol in symbols.items()
            if name.startswith("__tsan_") and symbol.kind in ("T", "t")}


def linked_object_evidence(binary: Path, candidate: Path, official: Path,
                           official_binary: Path) -> list[str]:
    """Problems with the claim "binary linked `candidate`, not `official`"; [] if none.

    Negative evidence: symbols only the official object defines (e.g. its __sanitizer
    internals) appear in a binary linked with it; none may appear in `binary`. This is
    calibrated on `official_binary` so a linker that drops them cannot make it pass.
    Positive evidence: Go's linker copies each host symbol's ELF size, so the size of
    every __tsan_* entry point in the binary must equal the candidate's, and at least
    one of those sizes must differ from the official object's (else the check could
    not tell the objects apart).
    """
    problems = []
    candidate_symbols = nm_symbols(candidate)
    official_symbols = nm_symbols(official)
    binary_symbols = nm_symbols(binary)
    official_only = set(official_symbols) - set(candidate_symbols)
    calibration = official_only & set(nm_symbols(official_binary))
    if len(calibration) < 10:
        problems.append(f"calibration failed: the official build shows only {len(calibration)} official-only symbols")
    leaked = sorted(official_only & set(binary_symbols))
    if leaked:
        problems.append(f"{len(leaked)} official-only symbols linked, e.g. {leaked[:5]}")
    candidate_sizes = entry_point_sizes(candidate_symbols)
    binary_sizes = entry_point_sizes(binary_symbols)
    official_sizes = entry_point_sizes(official_symbols)
    shared = sorted(set(candidate_sizes) & set(binary_sizes))
    if len(shared) < 30:
        problems.append(f"only {len(shared)} __tsan_* entry points of the candidate found in the binary")
    mismatched = [name for name in shared if candidate_sizes[name] != binary_sizes[name]]
    if mismatched:
        problems.append(f"entry point sizes differ from the candidate's: {mismatched[:5]}")
    if all(official_sizes.get(name) == candidate_sizes[name] for name in shared):
        problems.append("the candidate's entry point sizes equal the official's: sizes prove nothing")
    return problems

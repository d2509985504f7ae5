"""`racert install`, `uninstall` and `status` on a real GOROOT.

On install, each race object location F keeps its original as F.racert-orig (a hard
link to the original inode when possible, so bytes, mode and mtime are kept) and F
becomes a fresh file with racert's object. A manifest records what was installed:
GOROOT/src/runtime/race/racert-install.json (cmd/go ignores .json files and, per
runtime/race's own tests, only *.syso names matter there).

Invariants:
- A backup is created once, from the file that was there before racert first touched
  that location, and never overwritten: installing again (a newer object) only
  replaces F. racert refuses to create a backup of its own object.
- Every check (writable directories, consistent state) happens before the first
  change; if a change fails midway, the steps already done are undone.
- Uninstall renames each backup back over F, so F is byte for byte (and inode for
  inode) the original, then deletes the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from . import RACERT_VERSION, abi
from .errors import RacertError
from .objects import (
    DEFAULT_OBJECT, RaceObject, default_object_sha256, looks_like_racert, looks_official, sha256_of_file,
)
from .toolchain import BACKUP_SUFFIX, Goroot

MANIFEST_LOCATION = "src/runtime/race/racert-install.json"
_SHORT_HASH = 12


@dataclass(frozen=True)
class LocationStatus:
    location: str
    state: str  # "official", "original", "racert", "unknown" or "missing"
    description: str
    sha256: str | None
    backup_sha256: str | None


def backup_path(file: Path) -> Path:
    return Path(str(file) + BACKUP_SUFFIX)


def _location_files(goroot: Goroot) -> Iterator[tuple[str, Path, Path]]:
    """Each race object location: its name, its file and the file's backup."""
    for location in goroot.locations:
        file = goroot.path / location
        yield location, file, backup_path(file)


def _recorded_sha256(manifest: dict, location: str) -> str | None:
    """The sha256 of the object the manifest says racert installed at `location`."""
    return manifest.get("locations", {}).get(location, {}).get("sha256")


def read_manifest(goroot: Goroot) -> dict:
    manifest_file = goroot.path / MANIFEST_LOCATION
    if not manifest_file.is_file():
        return {}
    try:
        return json.loads(manifest_file.read_text())
    except ValueError as error:
        raise RacertError(f"unreadable install manifest {manifest_file}: {error}") from None


def install(goroot: Goroot, race_object: RaceObject) -> list[str]:
    """Put race_object at every location; returns one line per location for the user.
    Refuses, changing nothing, a release that calls an entry point the object lacks."""
    abi.require_entry_points(goroot, race_object)
    manifest = read_manifest(goroot)
    plans = []
    for location, file, backup in _location_files(goroot):
        if not file.is_file():
            raise RacertError(f"unexpected GOROOT layout: {file} is missing")
        current = sha256_of_file(file)
        if backup.is_file():
            known = {_recorded_sha256(manifest, location), sha256_of_file(backup), race_object.sha256}
            if current not in known:
                raise RacertError(
                    f"{file} holds an unknown object (sha256 {current[:_SHORT_HASH]}) and a backup of the "
                    f"original exists; run `racert uninstall --force` first or inspect it by hand")
            plans.append((location, file, backup, False))
        else:
            if (current in (race_object.sha256, _recorded_sha256(manifest, location))
                    or looks_like_racert(file.read_bytes())):
                raise RacertError(
                    f"{file} already holds a racert object but no original backup {backup.name} exists; "
                    f"restore the official object (reinstall Go) before installing")
            plans.append((location, file, backup, True))
    _require_writable(goroot, {file.parent for _, file, _, _ in plans} | {(goroot.path / MANIFEST_LOCATION).parent})

    undo: list[Callable[[], None]] = []
    try:
        for location, file, backup, needs_backup in plans:
            if needs_backup:
                _create_backup(file, backup)
                undo.append(lambda file=file, backup=backup: _restore_backup(file, backup))
            else:
                previous = file.read_bytes()
                undo.append(lambda file=file, previous=previous: _atomic_write(file, previous, 0o644))
            _atomic_write(file, race_object.content, _mode_of(backup))
        new_manifest = {
            "tool": "racert",
            "racert_version": RACERT_VERSION,
            "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "go_version": goroot.version.text,
            "object_path": str(race_object.path),
            "object_sha256": race_object.sha256,
            "locations": {
                location: {"sha256": race_object.sha256, "original_sha256": sha256_of_file(backup)}
                for location, _, backup, _ in plans
            },
        }
        _atomic_write(goroot.path / MANIFEST_LOCATION, (json.dumps(new_manifest, indent=2) + "\n").encode(), 0o644)
    except OSError as error:
        for step in reversed(undo):
            try:
                step()
            except OSError:
                pass
        raise RacertError(f"install failed and was rolled back: {error}") from None
    return [
        f"{location}: racert object sha256 {race_object.sha256[:_SHORT_HASH]} installed"
        + (f" (original kept as {backup.name})" if needs_backup else " (existing original backup kept)")
        for location, _, backup, needs_backup in plans
    ]


def uninstall(goroot: Goroot, force: bool) -> list[str]:
    """Restore every backed-up original; returns one line per location for the user."""
    manifest = read_manifest(goroot)
    restorations = []
    for location, file, backup in _location_files(goroot):
        if not backup.is_file():
            if location in manifest.get("locations", {}) and not force:
                raise RacertError(
                    f"{file} was installed by racert but its backup {backup.name} is gone; "
                    f"reinstall Go to recover the official object")
            continue
        if file.is_file() and not force:
            current = sha256_of_file(file)
            expected = {_recorded_sha256(manifest, location), sha256_of_file(backup)}
            if current not in expected:
                raise RacertError(
                    f"{file} changed since racert installed it (sha256 {current[:_SHORT_HASH]}); "
                    f"use `racert uninstall --force` to restore {backup.name} anyway")
        restorations.append((location, file, backup))
    manifest_file = goroot.path / MANIFEST_LOCATION
    if not restorations:
        if manifest_file.is_file():
            _require_writable(goroot, {manifest_file.parent})
            manifest_file.unlink()
        return []
    _require_writable(goroot, {file.parent for _, file, _ in restorations} | {manifest_file.parent})
    for _, file, backup in restorations:
        os.replace(backup, file)  # atomic; the original inode returns to its name
    manifest_file.unlink(missing_ok=True)
    return [f"{location}: original restored from {backup.name}" for location, _, backup in restorations]


def status(goroot: Goroot, candidate: RaceObject | None) -> list[LocationStatus]:
    """What each location holds. `candidate` is the object racert would install now
    (from --object, $RACERT_OBJECT or build/), if it exists."""
    manifest = read_manifest(goroot)
    build_sha = default_object_sha256()
    results = []
    for location, file, backup in _location_files(goroot):
        backup_sha = sha256_of_file(backup) if backup.is_file() else None
        if not file.is_file():
            results.append(LocationStatus(location, "missing", "missing", None, backup_sha))
            continue
        sha = sha256_of_file(file)
        matches = []
        if sha == _recorded_sha256(manifest, location):
            matches.append(
                f"installed {manifest.get('installed_at', '?')} by racert {manifest.get('racert_version', '?')}"
                f" from {manifest.get('object_path', '?')}")
        if sha == build_sha:
            matches.append(f"same as {DEFAULT_OBJECT}")
        if candidate is not None and sha == candidate.sha256 and candidate.path != DEFAULT_OBJECT:
            matches.append(f"same as {candidate.path}")
        if matches:
            version = manifest.get("racert_version", RACERT_VERSION)
            state, description = "racert", f"racert {version}, sha256 {sha[:_SHORT_HASH]} ({'; '.join(matches)})"
        elif looks_like_racert(file.read_bytes()):
            state, description = "racert", f"racert object of an unrecorded build, sha256 {sha[:_SHORT_HASH]}"
        elif looks_official(file.read_bytes()):
            state, description = "official", f"official (LLVM ThreadSanitizer), sha256 {sha[:_SHORT_HASH]}"
        elif backup_sha == sha:
            state, description = "original", f"original (same bytes as {backup.name}), sha256 {sha[:_SHORT_HASH]}"
        else:
            state, description = "unknown", f"unknown object, sha256 {sha[:_SHORT_HASH]}"
        if backup_sha is not None:
            description += f"; backup {backup.name} sha256 {backup_sha[:_SHORT_HASH]}"
        results.append(LocationStatus(location, state, description, sha, backup_sha))
    return results


def _require_writable(goroot: Goroot, directories: set[Path]) -> None:
    """Really create and delete a file in each directory: as root, permission bits say
    nothing, while read-only mounts and immutable flags still refuse writes."""
    for directory in sorted(directories):
        try:
            handle, probe = tempfile.mkstemp(prefix=".racert-probe-", dir=directory)
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            raise RacertError(f"GOROOT not writable: {goroot.path}: cannot write in {directory}: {error.strerror}") from None


def _create_backup(file: Path, backup: Path) -> None:
    try:
        os.link(file, backup)  # keeps the original inode: bytes, mode, mtime
    except OSError:
        _atomic_copy(file, backup)


def _restore_backup(file: Path, backup: Path) -> None:
    """Undo of _create_backup: the original goes back to its name, the backup goes away.
    rename() between two links of one inode is a no-op, hence the samefile case."""
    if file.exists() and os.path.samefile(file, backup):
        backup.unlink()
    else:
        os.replace(backup, file)


def _atomic_copy(source: Path, destination: Path) -> None:
    temporary = _temporary_beside(destination)
    try:
        shutil.copy2(source, temporary)
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _atomic_write(destination: Path, content: bytes, mode: int) -> None:
    """Write to a temporary name beside destination, then rename over it: a reader
    (a concurrent go build) sees the old or the new file, never half of one."""
    temporary = _temporary_beside(destination)
    try:
        with open(temporary, "xb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _temporary_beside(destination: Path) -> Path:
    return destination.with_name(f".{destination.name}.racert-tmp-{os.getpid()}-{os.urandom(4).hex()}")


def _mode_of(path: Path) -> int:
    return (path.stat().st_mode & 0o777) if path.exists() else 0o644

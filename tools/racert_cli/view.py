"""The private GOROOT view: the real Go tree with racert's object in place of the
official race object(s), used through GOROOT=<view> and a private GOCACHE.

Why a view and not `go build -overlay`: the overlay hashes one file but links another
and poisons the build cache (docs/go-race-abi-notes.md §15). A view is a real tree, so every step of
cmd/go reads our object.

Layout under ${XDG_CACHE_HOME:-~/.cache}/racert/:
  views/<go version>-<toolchain id>-<object sha256 prefix>-v<layout>/   one per Go install x object
  views/.tmp-*                                               views under construction
  gocache/<go version>-<toolchain id>/                       GOCACHE, one per Go install

How a view is built (well under a second for Go's ~15k files): every directory is a
real directory, every file is a hard link to the real file. Hard links rather than
symlinks because cmd/go, when it installs into GOROOT, opens an existing non-regular
destination with O_TRUNC instead of removing it first, which through a symlink would
overwrite the real GOROOT; a hard link is a regular file that cmd/go removes first.
When hard links are impossible (another filesystem, or fs.protected_hardlinks for a
non-root user) files become absolute symlinks instead; $RACERT_VIEW_LINKS=symlink
forces that. Directories are never symlinks: cmd/go's package walk (`go list std`,
`./...`) skips symlinked directories. Symlinks in the real tree (Debian's
/usr/lib/go-1.23/src -> ../../share/...) are followed, so the view stands alone.

Why the GOCACHE is shared by all views of one Go install: cmd/go keys every action on
the SHA-256 of its input files, syso objects included, and not on the GOROOT path
(docs/go-race-abi-notes.md §15), so views differing only in the object share every std package and
rebuild just runtime/race and the link. It is never the user's own GOCACHE, which an
old -overlay experiment may have poisoned. The e2e tests check that alternating
objects through one cache always links the right one.

Real paths in what users see. The view's path must not show up anywhere a user
looks (report frames, panics, runtime.GOROOT(), `go env GOROOT`), because tools
and people map those paths to their GOROOT. Two files of a view are not links
to the real tree, and one is added:
- pkg/tool/linux_amd64/link is a shell script running the real linker with
  GOROOT (and GOROOT_FINAL, which Go 1.19 to 1.22 read) naming the real tree when
  cmd/go passed the view. The compiler and assembler already write files under
  GOROOT as "$GOROOT/src/...", independent of the view's path (which is why std
  packages are shared through the GOCACHE); the linker expands "$GOROOT" in the
  file table and DWARF and records runtime.defaultGOROOT from its own GOROOT, so
  the binary names the real tree in every frame, panic and runtime.GOROOT().
  -trimpath builds (cmd/go clears GOROOT for the linker) are left alone.
- racert-bin/go (not part of a Go tree) is a shell script that racert runs and
  puts first on PATH: `go env` (also after `-C dir`) runs the real tree's go,
  which reports the real GOROOT and GOTOOLDIR; everything else runs the view's
  bin/go, which stays the real go binary as a hard link (tools inspect
  $GOROOT/bin/go: net/http's tests run `go tool nm` on it).
- The race object locations hold racert's object.
`racert go` runs bin/go without GOROOT in the environment (unless it already
names the view): cmd/go finds the view from its executable's path and still
sets GOROOT for the tools it runs, but programs it runs (go run, go test) see
the caller's environment, so their runtime.GOROOT() is the linker's value.

Invariants:
- A directory named views/<key> is complete: it is assembled under views/.tmp-* and
  renamed into place in one step; a concurrent builder that loses the race discards
  its copy and uses the winner's.
- Each view's race object locations hold exactly the object whose SHA-256 prefix is in
  its name; this is rechecked on every use (a few milliseconds).
- Nothing under the real GOROOT is ever written.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shlex
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from . import abi
from .errors import RacertError
from .objects import RaceObject, sha256_of_file
from .toolchain import Goroot, load_goroot

VIEW_MANIFEST_NAME = ".racert-view.json"
# Bumped whenever what a view contains changes, so older views are never reused
# (their path is also part of cmd/go's keys for linked binaries).
VIEW_LAYOUT = 4
LINKER_LOCATION = "pkg/tool/linux_amd64/link"
GO_COMMAND_LOCATION = "bin/go"
# The go command racert runs and puts first on PATH: a script in a directory of
# its own, so that the view's bin/go stays the real Go binary (tools inspect
# $GOROOT/bin/go: net/http's tests run `go tool nm` on it and expect cmd/go's
# symbols).
WRAPPER_GO_LOCATION = "racert-bin/go"
LINK_MODE_ENV = "RACERT_VIEW_LINKS"
_LINK_MODES = ("hardlink", "symlink")
_STALE_TEMPORARY_SECONDS = 3600
_OBJECT_KEY_LENGTH = 16


@dataclass(frozen=True)
class View:
    path: Path
    gocache: Path
    link_mode: str  # how this view's files refer to the real tree
    created_now: bool


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "racert"


def real_goroot_behind(path: Path) -> Path:
    """If `path` is a racert view (e.g. GOROOT inherited from `racert go`), the real tree
    it mirrors; otherwise `path` itself. Views are never nested."""
    manifest = path / VIEW_MANIFEST_NAME
    if manifest.is_file():
        try:
            return Path(json.loads(manifest.read_text())["real_goroot"])
        except (ValueError, KeyError) as error:
            raise RacertError(f"damaged racert view {path}: {manifest} unreadable ({error})") from None
    return path


def toolchain_key(goroot: Goroot) -> str:
    """Distinguishes Go installs: same version at two paths, or a reinstalled tree."""
    identity = hashlib.sha256(f"{goroot.path}\0{goroot.version_file_text}".encode()).hexdigest()[:10]
    return f"{goroot.version.short}-{identity}"


def view_path_for(goroot: Goroot, race_object: RaceObject) -> Path:
    name = f"{toolchain_key(goroot)}-{race_object.sha256[:_OBJECT_KEY_LENGTH]}-v{VIEW_LAYOUT}"
    return cache_root() / "views" / name


def gocache_path_for(goroot: Goroot) -> Path:
    return cache_root() / "gocache" / toolchain_key(goroot)


def ensure_view(goroot: Goroot, race_object: RaceObject) -> View:
    """Return the view of `goroot` holding `race_object`, building it if needed.
    Refuses a release that calls an entry point the object does not export."""
    abi.require_entry_points(goroot, race_object)
    final_path = view_path_for(goroot, race_object)
    gocache = gocache_path_for(goroot)
    created_now = False
    if not final_path.is_dir():
        created_now = _build_view(goroot, race_object, final_path)
    link_mode = _verify_view(final_path, goroot, race_object)
    gocache.mkdir(parents=True, exist_ok=True)
    return View(path=final_path, gocache=gocache, link_mode=link_mode, created_now=created_now)


def go_environment(view: View, base: dict[str, str]) -> dict[str, str]:
    """Environment for the view's bin/go. GOROOT is removed (unless it already names
    the view): the view's go finds its GOROOT from its own path, so the programs it
    runs do not inherit a GOROOT naming the view, and their runtime.GOROOT() is the
    real tree the linker recorded. Nested go commands (go test -> go build, go run,
    go generate, a test running `go`) find the view's bin/go first on PATH.
    GOTOOLCHAIN=local stops a go.mod `toolchain` line from switching to a downloaded
    Go, which would link the official object."""
    environment = dict(base)
    environment.update(view_variables(view))
    given = base.get("GOROOT")
    if not given or not _same_directory(Path(given), view.path):
        del environment["GOROOT"]
    environment["PATH"] = os.pathsep.join(
        filter(None, [str((view.path / WRAPPER_GO_LOCATION).parent), str(view.path / "bin"), base.get("PATH", "")]))
    return environment


def _same_directory(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def view_variables(view: View) -> dict[str, str]:
    return {"GOROOT": str(view.path), "GOCACHE": str(view.gocache), "GOTOOLCHAIN": "local"}


def remove_cached_views(include_gocache: bool) -> list[Path]:
    """Delete every view (and optionally every racert GOCACHE); returns what was removed."""
    removed = []
    targets = [cache_root() / "views"] + ([cache_root() / "gocache"] if include_gocache else [])
    for directory in targets:
        if directory.is_dir():
            for child in sorted(directory.iterdir()):
                _remove_tree(child)
                removed.append(child)
    return removed


def _build_view(goroot: Goroot, race_object: RaceObject, final_path: Path) -> bool:
    """Assemble the view in a temporary directory and rename it into place.
    Returns False when a concurrent racert finished the same view first."""
    views_directory = final_path.parent
    try:
        views_directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RacertError(f"cannot create the view cache {views_directory}: {error.strerror}") from None
    _remove_stale_temporaries(views_directory)
    temporary = views_directory / f".tmp-{final_path.name}-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        link_mode = _mirror_tree(goroot.path, temporary, _requested_link_mode())
        for location in goroot.locations:
            _place_object(temporary / location, race_object)
        _place_real_path_wrappers(temporary, goroot, final_path)
        manifest = {
            "real_goroot": str(goroot.path),
            "go_version": goroot.version.text,
            "object_sha256": race_object.sha256,
            "object_source": str(race_object.path),
            "locations": list(goroot.locations),
            "link_mode": link_mode,
            "layout": VIEW_LAYOUT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (temporary / VIEW_MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        try:
            os.rename(temporary, final_path)
        except OSError as error:
            if error.errno in (errno.EEXIST, errno.ENOTEMPTY) and final_path.is_dir():
                return False  # another racert won the race; its view is equivalent
            raise
        return True
    except OSError as error:
        raise RacertError(f"cannot create the GOROOT view {final_path}: {error}") from None
    finally:
        if temporary.exists():
            _remove_tree(temporary)


def _requested_link_mode() -> str:
    requested = os.environ.get(LINK_MODE_ENV, "hardlink")
    if requested not in _LINK_MODES:
        raise RacertError(f"{LINK_MODE_ENV}={requested} is invalid: use one of {', '.join(_LINK_MODES)}")
    return requested


def _mirror_tree(source_root: Path, destination_root: Path, link_mode: str) -> str:
    """Recreate source_root's directories under destination_root and link every file.
    Returns the link mode actually used ("hardlink" drops to "symlink" on the first
    file that cannot be hard linked)."""
    visited_directories: set[tuple[int, int]] = set()
    pending = [(source_root, destination_root)]
    while pending:
        source_directory, destination_directory = pending.pop()
        directory_status = os.stat(source_directory)
        visited_directories.add((directory_status.st_dev, directory_status.st_ino))
        os.mkdir(destination_directory, stat.S_IMODE(directory_status.st_mode) | stat.S_IRWXU)
        with os.scandir(source_directory) as entries:
            for entry in entries:
                destination = os.path.join(destination_directory, entry.name)
                if entry.is_dir():  # follows symlinks, so Debian's src -> ../share works
                    target_status = entry.stat()
                    if (target_status.st_dev, target_status.st_ino) in visited_directories:
                        os.symlink(os.readlink(entry.path), destination)  # a loop: keep as is
                    else:
                        pending.append((Path(entry.path), Path(destination)))
                elif entry.is_file():
                    real_file = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
                    link_mode = _link_file(real_file, destination, link_mode)
                elif entry.is_symlink():  # dangling: copy the link itself
                    os.symlink(os.readlink(entry.path), destination)
                # sockets, FIFOs and devices have no place in a Go tree: skipped
    return link_mode


def _link_file(real_file: str, destination: str, link_mode: str) -> str:
    if link_mode == "hardlink":
        try:
            os.link(real_file, destination)
            return link_mode
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
                raise
            link_mode = "symlink"
    os.symlink(os.path.abspath(real_file), destination)
    return link_mode


def _place_object(location: Path, race_object: RaceObject) -> None:
    """Replace the linked original with a private copy of our object. Unlink first: it
    is a hard link to (or a symlink at) the real GOROOT's file, which must not change."""
    if location.exists() or location.is_symlink():
        location.unlink()
    with open(location, "xb") as stream:
        stream.write(race_object.content)
    os.chmod(location, 0o644)


def _place_real_path_wrappers(view: Path, goroot: Goroot, final_path: Path) -> None:
    """The linker and go command wrappers of a view (see the module docstring).
    `view` is where the view is being assembled, `final_path` where it will live."""
    real_linker = os.path.realpath(goroot.path / LINKER_LOCATION)
    if not os.path.isfile(real_linker):
        raise RacertError(f"unexpected GOROOT layout: {goroot.path / LINKER_LOCATION} is missing")
    quoted_view, quoted_real = shlex.quote(str(final_path)), shlex.quote(str(goroot.path))
    linker_script = f"""#!/bin/sh
# racert GOROOT view of {goroot.path}: the real linker, run with GOROOT (and
# GOROOT_FINAL, read by Go 1.19 to 1.22) naming the real tree instead of this
# view, so binaries name the real tree in file names and runtime.GOROOT().
if [ -n "${{GOROOT:-}}" ] && [ "$GOROOT" -ef {quoted_view} ]; then GOROOT={quoted_real}; export GOROOT; fi
if [ -n "${{GOROOT_FINAL:-}}" ] && [ "$GOROOT_FINAL" -ef {quoted_view} ]; then GOROOT_FINAL={quoted_real}; export GOROOT_FINAL; fi
exec {shlex.quote(real_linker)} "$@"
"""
    _write_script(view / LINKER_LOCATION, linker_script)

    # The view's bin/go must be a file of the view, never a symlink (symlink-mode
    # views on another filesystem): go finds its GOROOT from its resolved path.
    view_go = view / GO_COMMAND_LOCATION
    if view_go.is_symlink():
        view_go.unlink()
        real_go_file = os.path.realpath(goroot.path / GO_COMMAND_LOCATION)
        try:
            os.link(real_go_file, view_go)
        except OSError:
            shutil.copy2(real_go_file, view_go)
    real_go = shlex.quote(str(goroot.path / GO_COMMAND_LOCATION))
    go_script = f"""#!/bin/sh
# racert GOROOT view of {goroot.path}: `go env` describes the real Go tree;
# every other command runs the go of this view (its GOROOT is this view).
case "${{1:-}}" in
  env) exec {real_go} "$@" ;;
  -C | --C) [ "${{3:-}}" = env ] && exec {real_go} "$@" ;;
  -C=* | --C=*) [ "${{2:-}}" = env ] && exec {real_go} "$@" ;;
esac
exec {shlex.quote(str(final_path / GO_COMMAND_LOCATION))} "$@"
"""
    (view / WRAPPER_GO_LOCATION).parent.mkdir()
    _write_script(view / WRAPPER_GO_LOCATION, go_script)


def _write_script(location: Path, text: str) -> None:
    """Replace the linked original (which must not change) with a script."""
    if location.exists() or location.is_symlink():
        location.unlink()
    with open(location, "x") as stream:
        stream.write(text)
    os.chmod(location, 0o755)


def _verify_view(path: Path, goroot: Goroot, race_object: RaceObject) -> str:
    manifest_file = path / VIEW_MANIFEST_NAME
    hint = f"remove it with `racert clean` (or rm -rf {path})"
    try:
        manifest = json.loads(manifest_file.read_text())
    except (OSError, ValueError) as error:
        raise RacertError(f"damaged GOROOT view {path}: {error}; {hint}") from None
    if manifest.get("real_goroot") != str(goroot.path) or manifest.get("object_sha256") != race_object.sha256:
        raise RacertError(f"damaged GOROOT view {path}: its manifest describes another tree or object; {hint}")
    for location in goroot.locations:
        placed = path / location
        if placed.is_symlink() or not placed.is_file() or sha256_of_file(placed) != race_object.sha256:
            raise RacertError(f"damaged GOROOT view {path}: {location} does not hold the object; {hint}")
    if manifest.get("layout") != VIEW_LAYOUT:
        raise RacertError(f"damaged GOROOT view {path}: made by another racert version; {hint}")
    for location in (LINKER_LOCATION, GO_COMMAND_LOCATION, WRAPPER_GO_LOCATION):
        placed = path / location
        if placed.is_symlink() or not placed.is_file():
            raise RacertError(f"damaged GOROOT view {path}: {location} is missing; {hint}")
    return manifest.get("link_mode", "unknown")


def _remove_stale_temporaries(views_directory: Path) -> None:
    """Leftovers of a racert killed mid-build; young ones may still be in progress."""
    now = time.time()
    for candidate in views_directory.glob(".tmp-*"):
        try:
            if now - candidate.lstat().st_mtime > _STALE_TEMPORARY_SECONDS:
                _remove_tree(candidate)
        except OSError:
            pass  # another racert removed it first


def _remove_tree(path: Path) -> None:
    """rmtree that never follows symlinks (a symlink-mode view links into the real
    GOROOT) and tolerates concurrent removal."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def load_goroot_for_view(path: Path) -> Goroot:
    """load_goroot() of the real tree, also when `path` is itself a view."""
    return load_goroot(real_goroot_behind(path))

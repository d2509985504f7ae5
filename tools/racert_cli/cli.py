"""Command line of `racert`: parsing, help text and dispatch.

`racert go ...` hands everything after `go` to the Go command untouched, so global
options (--object) must come before the command name; other commands also accept
--object after their name. Errors anticipated by racert print one line on stderr and
exit 1; usage errors exit 2; `racert go` exits with go's own status.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from . import RACERT_VERSION, abi, installer, objects, reports, toolchain, toolexec, view
from .errors import RacertError

PROGRAM = "racert"

OVERVIEW = f"""\
racert {RACERT_VERSION}: use racert's race runtime (a drop-in replacement for Go's
race_linux.syso, linux/amd64) with the Go toolchain you already have.

usage: racert [--object FILE] <command> [arguments]

commands:
  go ARGS...     run `go ARGS...` with racert's object linked by -race builds; your
                 GOROOT and build cache are used unchanged (through -toolexec)
  goroot         print the path of that GOROOT view (creating it if needed)
  env            print the variables that select the view (GOROOT=, GOCACHE=,
                 GOTOOLCHAIN=), one per line
  install        put racert's object into a GOROOT, keeping the originals
  uninstall      restore the original objects byte for byte
  status         say what each race object location of a GOROOT holds
  clean          delete cached GOROOT views (and, with --all, their GOCACHEs)
  summary FILE...  the unique races of json_path reports, with counts, for a CI log
  sarif FILE...    the same reports as one SARIF 2.1.0 log for code scanning
  version        print racert's version and the object it would use
  help [CMD]     this text, or a command's help (also: racert CMD --help)

global options:
  --object FILE  the race object to use instead of build/race_linux.syso
                 (same as RACERT_OBJECT=FILE)

environment:
  RACERT_GO          the go binary to use (default: `go` on PATH), e.g.
                     RACERT_GO=/usr/lib/go-1.23/bin/go
  RACERT_OBJECT      the race object to use (default: build/race_linux.syso of the
                     racert checkout, produced by ./build_syso.sh)
  RACERT_VIEW_LINKS  hardlink (default) or symlink: how a view refers to the real
                     tree's files (hard links fall back to symlinks by themselves
                     when the cache is on another filesystem)
  XDG_CACHE_HOME     views live in ${{XDG_CACHE_HOME:-~/.cache}}/racert/

supported: linux/amd64 hosts, Go 1.19 and newer (tested on every release from 1.19
to 1.27). 1.19 keeps the object in src/runtime/race/race_linux_amd64.syso, 1.20+ in
src/runtime/race/internal/amd64v1/ and amd64v3/race_linux.syso; racert fills every
location. A release is served when the object exports every __tsan_* entry point
that the release's src/runtime/race.go and race_amd64.s reference, whatever its
version number; otherwise racert refuses it and names the missing entry points.

examples:
  racert go build -race ./cmd/server
  racert go test -race ./...
  RACERT_GO=/usr/lib/go-1.23/bin/go racert go test -race ./...
  racert --object build/race_linux_floor.syso go test -race -bench . ./pkg
  env $(racert env) go vet ./...
  sudo racert install; racert status; sudo racert uninstall
  GORACE=json_path=$PWD/races/r racert go test -race ./...; racert summary races/r.*
  racert sarif -o races.sarif races/r.*
"""

GO_HELP = """\
usage: racert [--object FILE] go ARGS...

Runs the Go command with racert's race object in place of the official one, without
changing your GOROOT or your build cache. ARGS are passed to go untouched, except a
-toolexec (see below); `racert go help build` shows go's own help.

How: racert runs your go ($RACERT_GO, else the `go` on PATH) with
  GOFLAGS=<yours> -toolexec=${XDG_CACHE_HOME:-~/.cache}/racert/toolexec/<object sha256>/toolexec
  GOTOOLCHAIN=local      a go.mod toolchain line must not switch to another Go
The wrapper runs every tool unchanged, except the linker: it gets copies of
runtime/race's archives holding racert's object (and the libc imports that object
needs), and `link -V=full` answers with the object's SHA-256 added, which cmd/go
puts into the cache key of every link: racert-linked binaries and test results
never share a cache entry with official ones; compiled packages are shared.
Nested go commands (go test -> go build, a test running `go`) inherit GOFLAGS.

Paths you see name your real GOROOT: report frames, panics, runtime.GOROOT(),
DWARF, `go env GOROOT` and `go list` (also run by a test).

A -toolexec of yours (on the command line, before -args, or in GOFLAGS) is kept:
racert takes it out and its wrapper runs every tool through it, the linker with
racert's changes included.

RACERT_GO_MODE=view uses the former mode instead: a private GOROOT view with the
object in place and its own GOCACHE (see `racert goroot --help`); programs run by
go test that call `go env GOROOT` then see the view's path.

GOOS/GOARCH other than linux/amd64 are refused: they would link an official object.
"""

GOROOT_HELP = """\
usage: racert [--object FILE] goroot

Prints the path of a private GOROOT view, creating it if needed: the real tree as
hard links (symlinks if hard links are impossible) under
${XDG_CACHE_HOME:-~/.cache}/racert/views/, with racert's object at every race object
location and a linker wrapper that records the real GOROOT in binaries. For tools
that need a GOROOT holding the object; `racert go` itself does not use it unless
RACERT_GO_MODE=view. Example: GOROOT=$(racert goroot) go env GOROOT
"""

ENV_HELP = """\
usage: racert [--object FILE] env

Prints the variables that make a go command use the view, one KEY=VALUE per line,
values shell-quoted when needed:
  GOROOT=<view>  GOCACHE=<racert cache>  GOTOOLCHAIN=local
Use them as `env $(racert env) go build -race .` or
`set -a; eval "$(racert env)"; set +a`. Add <view>/bin to PATH if programs you run
start `go` themselves. Binaries built this way also name your real GOROOT in
frames and runtime.GOROOT() (the view's linker records it), but the programs you
run see GOROOT=<view> in their environment, and runtime.GOROOT() returns that.
"""

INSTALL_HELP = """\
usage: racert install [--goroot DIR] [--object FILE]

Puts racert's object into a real GOROOT (default: `go env GOROOT` of $RACERT_GO or
the go on PATH) at every race object location of its Go version. Each original is
kept once as <file>.racert-orig; installing again (e.g. after rebuilding the object)
replaces only the object and never touches an existing backup. The installed object
is recorded in src/runtime/race/racert-install.json.

Fails, changing nothing, when: the GOROOT does not exist or is not writable, the
host is not linux/amd64, its Go version is older than 1.19, the release calls a
__tsan_* entry point the object does not export, the object is not built (run
./build_syso.sh), a location holds an unknown object next to a backup, or a
location already holds racert's object without any backup.
"""

UNINSTALL_HELP = """\
usage: racert uninstall [--goroot DIR] [--force]

Restores every <file>.racert-orig over its file (byte for byte: the original file is
renamed back) and deletes the manifest. Refuses, changing nothing, when a file was
changed by something other than racert since install, unless --force.
Nothing to restore is not an error.
"""

STATUS_HELP = """\
usage: racert status [--goroot DIR] [--object FILE] [--json]

For each race object location of the GOROOT, prints one of:
  official  the LLVM ThreadSanitizer object Go ships
  racert    racert's object: version and sha256 prefix, matched against the install
            manifest, build/race_linux.syso or --object FILE (an unmatched object
            with racert's symbols is reported as an unrecorded build)
  original  the same bytes as the .racert-orig backup, but not recognisably official
  unknown   something else
  missing   no file
plus the backup, if any, and whether the object racert would install exports
every __tsan_* entry point this Go release references. --json prints the same as
JSON.
"""

CLEAN_HELP = """\
usage: racert clean [--all]

Deletes every cached GOROOT view; --all also deletes racert's GOCACHEs. Do not run it
while a `racert go` is running.
"""

VERSION_HELP = """\
usage: racert version

Prints racert's version and the object racert would use (path and sha256 prefix).
"""

SUMMARY_HELP = """\
usage: racert summary [--goroot DIR]... FILE...

Reads race reports written by GORACE json_path=PATH (files PATH.<pid>, one JSON
object per line; any number of files and processes, e.g. a whole
`go test -race ./...`) and prints the unique races, grouped by their id (the same
pair of racing source locations), first seen first: how often each was reported,
in which file it was first seen, and for both accesses the innermost frame in your
code (not in the standard library), with the library function it was inside.
--goroot DIR names a Go tree whose frames are library frames (the GOROOT of the go
racert would use counts anyway). Exit status 0, or 1 for unreadable input.
"""

SARIF_HELP = """\
usage: racert sarif [-o FILE] [--srcroot DIR] [--goroot DIR]... FILE...

Converts race reports written by GORACE json_path (see `racert summary --help`)
into one SARIF 2.1.0 log for code-scanning tools, on stdout or into FILE: one
result per unique race id, with the racing access in your code as the location,
the earlier access as a related location, both stacks and the goroutines'
creation stacks as SARIF stacks, the number of reports as occurrenceCount and the
id as a partial fingerprint. Paths below --srcroot (default: the current
directory) are written relative to it (uriBaseId SRCROOT), others as file:// URIs.
"""

COMMAND_HELP = {
    "go": GO_HELP, "goroot": GOROOT_HELP, "env": ENV_HELP, "install": INSTALL_HELP,
    "uninstall": UNINSTALL_HELP, "status": STATUS_HELP, "clean": CLEAN_HELP,
    "version": VERSION_HELP, "summary": SUMMARY_HELP, "sarif": SARIF_HELP,
}


class _UsageError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(arguments)
    except RacertError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 1
    except _UsageError as error:
        print(f"{PROGRAM}: {error}\nRun `racert --help` for usage.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(arguments: list[str]) -> int:
    global_object = None
    while arguments and arguments[0].startswith("-"):
        option = arguments.pop(0)
        if option in ("-h", "--help"):
            sys.stdout.write(OVERVIEW)
            return 0
        if option == "--version":
            return _command_version(None)
        if option == "--object":
            if not arguments:
                raise _UsageError("--object needs a FILE")
            global_object = arguments.pop(0)
        elif option.startswith("--object="):
            global_object = option.split("=", 1)[1]
        else:
            raise _UsageError(f"unknown option {option}")
    if not arguments:
        sys.stdout.write(OVERVIEW)
        return 2
    if arguments[0] == toolexec.LINK_COMMAND:
        return toolexec.run_tool(arguments[1:])
    command, rest = arguments[0], arguments[1:]
    if command == "help":
        return _command_help(rest)
    if command == "go":
        if rest[:1] in (["-h"], ["--help"]):
            sys.stdout.write(GO_HELP)
            return 0
        return _command_go(global_object, rest)
    if command not in COMMAND_HELP:
        raise _UsageError(f"unknown command {command!r}")
    if command in ("summary", "sarif"):
        return _command_reports(command, rest)
    options = _parse_command_options(command, rest)
    object_option = options.object if getattr(options, "object", None) else global_object
    if command == "version":
        return _command_version(object_option)
    if command == "clean":
        return _command_clean(options.all)
    toolchain.check_host()
    if command in ("goroot", "env"):
        prepared = _prepare_view(object_option)
        if command == "goroot":
            print(prepared.path)
        else:
            for key, value in view.view_variables(prepared).items():
                print(f"{key}={shlex.quote(value)}")
        return 0
    goroot = _target_goroot(options.goroot)
    if command == "install":
        race_object = objects.load_object(object_option)
        for line in installer.install(goroot, race_object):
            print(line)
        return 0
    if command == "uninstall":
        lines = installer.uninstall(goroot, options.force)
        for line in lines or [f"nothing to uninstall: no *{toolchain.BACKUP_SUFFIX} backups in {goroot.path}"]:
            print(line)
        return 0
    return _command_status(goroot, object_option, options.json)


def _parse_command_options(command: str, rest: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"{PROGRAM} {command}", add_help=False, usage=argparse.SUPPRESS)
    parser.add_argument("-h", "--help", action="store_true")
    if command in ("goroot", "env", "install", "status", "version"):
        parser.add_argument("--object", metavar="FILE")
    if command in ("install", "uninstall", "status"):
        parser.add_argument("--goroot", metavar="DIR")
    if command == "uninstall":
        parser.add_argument("--force", action="store_true")
    if command == "status":
        parser.add_argument("--json", action="store_true")
    if command == "clean":
        parser.add_argument("--all", action="store_true")
    options, unknown = parser.parse_known_args(rest)
    if options.help:
        sys.stdout.write(COMMAND_HELP[command])
        raise SystemExit(0)
    if unknown:
        raise _UsageError(f"{command}: unexpected argument(s): {' '.join(unknown)}")
    return options


def _command_help(rest: list[str]) -> int:
    if not rest:
        sys.stdout.write(OVERVIEW)
        return 0
    if rest[0] not in COMMAND_HELP:
        raise _UsageError(f"no help for unknown command {rest[0]!r}")
    sys.stdout.write(COMMAND_HELP[rest[0]])
    return 0


def _command_version(object_option: str | None) -> int:
    print(f"racert {RACERT_VERSION}")
    path, _ = objects.choose_object_path(object_option)
    if path.is_file():
        print(f"object: {path} sha256 {objects.sha256_of_file(path)[:12]}")
    else:
        print(f"object: {path} (not built; run ./build_syso.sh)")
    return 0


GO_MODE_ENV = "RACERT_GO_MODE"


def _command_go(object_option: str | None, go_arguments: list[str]) -> int:
    toolchain.check_host()
    for variable, wanted in (("GOOS", "linux"), ("GOARCH", "amd64")):
        value = os.environ.get(variable)
        if value and value != wanted:
            raise RacertError(
                f"{variable}={value}: racert replaces the linux/amd64 race object only; "
                f"that target would link the official one")
    mode = os.environ.get(GO_MODE_ENV) or "toolexec"
    if mode == "view":
        prepared = _prepare_view(object_option)
        go_binary = prepared.path / view.WRAPPER_GO_LOCATION
        environment = view.go_environment(prepared, dict(os.environ))
    elif mode == "toolexec":
        race_object = objects.load_object(object_option)
        go_binary = toolchain.find_go_binary()
        goroot = view.load_goroot_for_view(toolchain.query_goroot(go_binary))
        toolexec.check_go(goroot, race_object)
        wrapper = toolexec.ensure_wrapper(race_object)
        go_arguments, environment = toolexec.go_environment(wrapper, dict(os.environ), go_arguments)
    else:
        raise RacertError(f"{GO_MODE_ENV}={mode} is invalid: use toolexec (the default) or view")
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(go_binary, ["go", *go_arguments], environment)
    except OSError as error:
        raise RacertError(f"cannot run {go_binary}: {error.strerror}") from None
    return 1  # not reached


def _command_reports(command: str, rest: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=f"{PROGRAM} {command}", add_help=False, usage=argparse.SUPPRESS)
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--goroot", action="append", default=[], metavar="DIR")
    if command == "sarif":
        parser.add_argument("-o", "--output", metavar="FILE")
        parser.add_argument("--srcroot", metavar="DIR")
    parser.add_argument("files", nargs="*")
    try:
        options = parser.parse_args(rest)
    except SystemExit:
        raise _UsageError(f"{command}: bad arguments: {' '.join(rest)}") from None
    if options.help:
        sys.stdout.write(COMMAND_HELP[command])
        return 0
    if not options.files:
        raise _UsageError(f"{command}: name at least one report file (GORACE json_path=PATH writes PATH.<pid>)")
    goroots = reports.known_goroots(options.goroot)
    if command == "summary":
        sys.stdout.write(reports.summary_text(options.files, goroots))
        return 0
    srcroot = os.path.realpath(options.srcroot or os.getcwd())
    text = json.dumps(reports.sarif_log(options.files, goroots, srcroot), indent=2) + "\n"
    if options.output:
        try:
            Path(options.output).write_text(text)
        except OSError as error:
            raise RacertError(f"cannot write {options.output}: {error.strerror}") from None
    else:
        sys.stdout.write(text)
    return 0


def _command_status(goroot: toolchain.Goroot, object_option: str | None, as_json: bool) -> int:
    try:
        candidate = objects.load_object(object_option)
    except RacertError:
        candidate = None  # status works before anything is built
    results = installer.status(goroot, candidate)
    entry_points = _entry_point_status(goroot, candidate)
    if as_json:
        document = {
            "goroot": str(goroot.path),
            "go_version": goroot.version.text,
            "newer_than_tested": goroot.version.is_newer_than_tested,
            "locations": [result.__dict__ for result in results],
            "entry_points": entry_points,
        }
        print(json.dumps(document, indent=2))
        return 0
    tested = (f"; newer than go1.{toolchain.NEWEST_TESTED_MINOR}, the newest release racert was tested with"
              if goroot.version.is_newer_than_tested else "")
    print(f"GOROOT {goroot.path} ({goroot.version.text}{tested})")
    for result in results:
        print(f"  {result.location}: {result.description}")
    print(f"  entry points: {entry_points['description']}")
    return 0


def _entry_point_status(goroot: toolchain.Goroot, candidate: objects.RaceObject | None) -> dict:
    """Whether `candidate` exports every __tsan_* entry point the release references."""
    try:
        required = abi.required_entry_points(goroot.path)
    except RacertError as error:
        return {"state": "unknown", "description": str(error), "required": None, "missing": None}
    if candidate is None:
        return {"state": "unknown", "required": sorted(required), "missing": None,
                "description": f"{goroot.version.text} references {len(required)} __tsan_* entry points "
                               f"(no object to compare with: run ./build_syso.sh)"}
    check = abi.check_entry_points(goroot.path, candidate)
    if check.ok:
        description = (f"{goroot.version.text} references {len(required)} __tsan_* entry points; "
                       f"{candidate.path} exports all of them")
    else:
        description = abi.refusal_message(goroot, candidate, check)
    return {"state": "served" if check.ok else "refused", "description": description,
            "required": sorted(required), "missing": list(check.missing), "object": str(candidate.path)}


def _command_clean(include_gocache: bool) -> int:
    removed = view.remove_cached_views(include_gocache)
    for path in removed:
        print(f"removed {path}")
    if not removed:
        print(f"nothing to remove under {view.cache_root()}")
    return 0


def _prepare_view(object_option: str | None) -> view.View:
    race_object = objects.load_object(object_option)
    go_binary = toolchain.find_go_binary()
    goroot = view.load_goroot_for_view(toolchain.query_goroot(go_binary))
    return view.ensure_view(goroot, race_object)


def _target_goroot(goroot_option: str | None) -> toolchain.Goroot:
    if goroot_option is not None:
        path = Path(goroot_option)
    else:
        path = toolchain.query_goroot(toolchain.find_go_binary())
    if (path / view.VIEW_MANIFEST_NAME).is_file():
        raise RacertError(f"{path} is a racert GOROOT view; install into the real GOROOT instead")
    return toolchain.load_goroot(path)

"""racert user command-line tool (the `racert` script at the repository root).

Modules, one concern each:
  errors     the single exception type that becomes a one-line error message
  elf        minimal ELF64 reader used to vet objects and classify them
  toolchain  locating `go`, its GOROOT, its version and the race object locations
  objects    choosing which race object racert substitutes, and recognising objects
  abi        which __tsan_* entry points a Go release calls, against what an object exports
  goarchive  Go package archives: racert's object into a copy of runtime/race's
  toolexec   `racert go`: the -toolexec wrapper that hands the linker racert's object
  view       the private GOROOT view (hard-link or symlink mirror) and its GOCACHE
  installer  install / uninstall / status inside a real GOROOT
  reports    json_path reports grouped by race: `racert summary` and `racert sarif`
  cli        argument parsing, help text, command dispatch
"""

from pathlib import Path

# The one source of the version, shared with the race object (go_api/version.h).
RACERT_VERSION = (Path(__file__).resolve().parents[2] / "VERSION").read_text().strip()

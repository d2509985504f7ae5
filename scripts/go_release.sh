#!/usr/bin/env bash
# Real Go toolchains of any release, from the Go module proxy.
#
#   scripts/go_release.sh goroot VERSION...   print each release's GOROOT, one per line,
#                                             fetching the ones not yet on this machine
#   scripts/go_release.sh list [ci|all]       print the releases of scripts/go_releases.txt
#                                             (default all; ci: those CI tests)
#
# VERSION is 1.27.4 or go1.27.4. Go publishes every release as the module
# golang.org/toolchain; `GOTOOLCHAIN=go1.27.4 go ...` makes the `go` on PATH
# (Go 1.21 or newer, see scripts/ensure_toolchain.sh) download it once into the
# module cache, $(go env GOMODCACHE)/golang.org/toolchain@v0.0.1-go1.27.4.linux-amd64,
# and run it. That tree is read-only: copy it before changing anything in it.
set -euo pipefail

readonly REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly RELEASES_FILE="$REPO_ROOT/scripts/go_releases.txt"

die() { echo "go_release: $*" >&2; exit 1; }

list_releases() {
  local which="${1:-all}"
  [[ "$which" == all || "$which" == ci ]] || die "list: expected 'ci' or 'all', got '$which'"
  # Strip comments; keep the version, and only "ci" lines when asked.
  sed -e 's/#.*//' "$RELEASES_FILE" | awk -v which="$which" 'NF && (which == "all" || $2 == "ci") { print $1 }'
}

release_goroot() {
  local version="${1#go}" goroot
  [[ "$version" =~ ^1\.[0-9]+(\.[0-9]+)?$ ]] || die "not a Go release version: $1"
  command -v go >/dev/null || die "no go on PATH (run scripts/ensure_toolchain.sh)"
  # From /, without GOROOT/GOFLAGS of the caller: nothing but GOTOOLCHAIN picks the Go.
  if ! goroot="$(cd / && env -u GOROOT -u GOFLAGS GOTOOLCHAIN="go$version" go env GOROOT 2>&1)"; then
    die "cannot fetch go$version through GOTOOLCHAIN: $(tail -n 1 <<<"$goroot")"
  fi
  goroot="$(tail -n 1 <<<"$goroot")"
  [[ -x "$goroot/bin/go" ]] || die "go$version: GOROOT '$goroot' has no bin/go"
  [[ "$(cat "$goroot/VERSION" 2>/dev/null | head -n 1)" == "go$version" ]] \
    || die "go$version: $goroot/VERSION does not say go$version"
  echo "$goroot"
}

case "${1:-}" in
  list)
    shift
    list_releases "$@"
    ;;
  goroot)
    shift
    (($# > 0)) || die "goroot: name at least one VERSION"
    for version in "$@"; do
      release_goroot "$version"
    done
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

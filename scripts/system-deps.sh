#!/usr/bin/env bash
# Installs the system packages the project needs (Tesseract with Portuguese,
# Redis, DejaVu fonts for the test bills, wrk for the benchmarks, Chromium for the review UI's
# browser tests) with apt-get when it can; otherwise prints the
# exact command to run.
# Never fails the build: what is missing only disables the parts that need it.
set -uo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)  # load generator of `make bench`
command -v chromium >/dev/null 2>&1 || missing+=(chromium)  # the review UI's browser tests (headless)
# The tests draw synthetic electricity bills with DejaVu (Portuguese glyphs).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if ! command -v tesseract >/dev/null 2>&1; then
  missing+=(tesseract-ocr tesseract-ocr-por)
elif ! tesseract --list-langs 2>/dev/null | grep -qx por; then
  missing+=(tesseract-ocr-por)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

echo "==> system packages missing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || $sudo true 2>/dev/null; }; then
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    && echo "==> installed: ${missing[*]}" && exit 0
fi
echo "warning: could not install them here. Run:" >&2
echo "  sudo apt-get install -y ${missing[*]}" >&2
exit 0

#!/usr/bin/env bash
# Idempotent set-up on Debian/Ubuntu: .venv with requirements.txt, plus (with --browser)
# Chromium and CJK fonts for the browser tests, and (with --train) the photographs the training
# scenes are textured with. Safe to run again; skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing Debian packages: $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

missing=()
python3 -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
  || { echo "setup: Python 3.11 or newer is needed as python3" >&2; exit 1; }
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
# A CJK font with TrueType outlines, which the PDF briefs embed (run.py brief).
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing+=(fonts-wqy-microhei)
browser=0; trainer=0
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 ;;
    --train) trainer=1 ;;
    *) echo "setup: unknown option $arg (use --browser and/or --train)" >&2; exit 2 ;;
  esac
done
if [ "$trainer" = 1 ]; then
  # Photographs for the training scenes (vision/synth/photos.py): GPL-2+ nature pictures.
  dpkg -s mate-backgrounds >/dev/null 2>&1 || missing+=(mate-backgrounds)
fi
if [ "$browser" = 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
  # A throw-away PostgreSQL cluster per test run: the server binaries (initdb, pg_ctl).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  # A local RTSP camera for the vision tests: GStreamer's RTSP server under Debian's python3.
  for pkg in python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good \
             gstreamer1.0-plugins-ugly gstreamer1.0-libav; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
fi
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"

[ -x .venv/bin/python ] || { echo "setup: creating .venv"; python3 -m venv .venv; }
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages (first time: a few minutes, torch is large)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --progress-bar on -r requirements.txt
  echo "$want" > "$stamp"
fi

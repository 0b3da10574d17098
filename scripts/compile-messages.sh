#!/usr/bin/env bash
# Compile gettext catalogues; installs GNU gettext when missing and we are root.
set -euo pipefail
PY="$1"
if ! command -v msgfmt >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -q gettext >/dev/null
  else
    echo "msgfmt not found and not root: UI stays in the source language (English)" >&2
    exit 0
  fi
fi
cd fangkong && "../$PY" -m django compilemessages --settings=config.settings -v0 \
  --ignore='*/.venv/*'

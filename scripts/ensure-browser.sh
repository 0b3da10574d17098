#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; CJK fonts keep Chinese readable in screenshots.
set -uo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} for browser tests"
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null
  } || echo "could not install ${missing[*]}: browser tests will skip" >&2
else
  echo "${missing[*]} missing and not root: browser tests will skip" >&2
fi
exit 0

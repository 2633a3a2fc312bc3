#!/usr/bin/env bash
# Install the pinned js-ipfs node (Kubo RPC API) into .tools/jsipfs (git-ignored), once.
# Skips when the installed package-lock matches tools/jsipfs/package-lock.json.
# Used by tests/storage/conftest.py (under a file lock); safe to run by hand.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dest="${JSIPFS_DIR:-$repo/.tools/jsipfs}"
stamp="$dest/.installed"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dest/node_modules/.bin/jsipfs" ]; then
  exit 0
fi
mkdir -p "$dest"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
# `npm ci` refuses this lock: js-ipfs has an optional dependency on a GitHub tarball
# ("headless", unreachable here and skipped), which npm 10/11 report as "missing from lock
# file". `npm install` with the committed lock installs the same pinned versions.
npm install --prefix "$dest" --no-audit --no-fund --loglevel=error --no-save
echo "$want" > "$stamp"

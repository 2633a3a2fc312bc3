#!/usr/bin/env bash
# Run the Foundry tests offline with the solc-js wrapper (forge cannot download solc here).
# FOUNDRY_PROFILE=fuzz selects the long campaign (100k fuzz runs, invariant depth 100).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/contracts"
exec "$root/node_modules/.bin/forge" test --offline --use "$root/contracts/solc" "$@"

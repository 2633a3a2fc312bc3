#!/usr/bin/env bash
# `make demo`: the example session of CLI.md, end to end, on the embedded defaults.
# Runs in a fresh ZOO_HOME (./demo-home/home, replaced each run) and prints every command.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
DEMO="${ZOO_DEMO_DIR:-$PWD/demo-home}"
rm -rf "$DEMO"
mkdir -p "$DEMO"
cd "$DEMO"
export ZOO_HOME="$DEMO/home"
unset ZOO_NETWORK ZOO_RPC ZOO_IPFS ZOO_ACCOUNT ZOO_PASSWORD ZOO_PASSWORD_FILE
start=$(date +%s)

run() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; "$@"; }
token_id() { python3 -c 'import json, sys; print(json.load(sys.stdin)["token_id"])'; }

run zoo init --dev
run zoo data synth --domain defi --n 2000 --seed 1 -o defi.jsonl
printf '\n\033[1m$ T=$(zoo --json mint --name alpha | jq .token_id)\033[0m\n' >&2
T=$(zoo --json mint --name alpha | token_id)
echo "T=$T" >&2
run zoo train "$T" defi.jsonl --steps 120
printf '\n\033[1m$ F=$(zoo --json fork %s | jq .token_id)\033[0m\n' "$T" >&2
F=$(zoo --json fork "$T" | token_id)
echo "F=$F" >&2
run zoo list --mine
run zoo lease offer "$T" --price-per-day 0.01eth
run zoo --account dev1 lease take "$T" --for 1d
run zoo market fulfill
run zoo --account dev1 ask "$T" "pool=ETH/USDC apy=4.2 risk=low ->"
run zoo claim "$T"
run zoo history "$T" --verify

elapsed=$(( $(date +%s) - start ))
printf '\n\033[1m== summary ==\033[0m\n' >&2
zoo show "$T"
echo
echo "demo finished in ${elapsed}s: minted token $T, trained it, forked it as $F, leased it to dev1,"
echo "dev1 queried it, rewards claimed, training history verified. State: $ZOO_HOME"

#!/usr/bin/env bash
# Slither over contracts/src, offline (no solc download): crytic-compile's solc
# standard-json mode driven by the solc-js wrapper contracts/solc (the same compiler
# 0.8.30 that builds the artifacts, optimizer on as in foundry.toml).
#
#   bash tools/slither.sh            # high + medium findings; exit 1 if any is not triaged
#   bash tools/slither.sh --all      # every impact level (low, informational, optimization)
#
# Slither runs from its own virtualenv ($SLITHER_VENV, default .stamps/slither-venv) so its
# pins (crytic-compile, web3) never touch the project's .venv. The sources are copied to a
# temp folder first: inside contracts/ crytic-compile detects Foundry and calls
# `forge build`, whose build-info from the solc-js wrapper lists each OpenZeppelin file
# under two paths (absolute and ../node_modules), which slither cannot parse.
# Triage of every reported finding: docs/security.md ("Slither"); a finding whose
# detector+location is not listed in tools/slither-triaged.txt fails the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SLITHER_VENV:-$root/.stamps/slither-venv}
if [ ! -x "$venv/bin/slither" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'slither-analyzer==0.11.6' 'crytic-compile==0.4.2'
fi
levels=(--exclude-informational --exclude-low --exclude-optimization)
[ "${1:-}" = "--all" ] && levels=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$root/contracts/src" "$tmp/src"
cd "$root"
set +e
"$venv/bin/slither" "$tmp/src" --solc "$root/contracts/solc" --solc-standard-json --solc-args=--optimize \
  --solc-remaps "@openzeppelin/=$root/node_modules/@openzeppelin/" --filter-paths node_modules \
  "${levels[@]}" --json "$tmp/report.json" 2>&1 | sed "s#$tmp/##g; s#\.\./\.\./tmp/[^/]*/##g"
set -e
"$venv/bin/python" - "$tmp/report.json" "$root/tools/slither-triaged.txt" "${1:-}" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
if not report.get("success"):
    sys.exit(f"slither failed: {report.get('error')}")
triaged = {ln.split("#")[0].strip() for ln in open(sys.argv[2]) if ln.split("#")[0].strip()}
new = []
for r in report["results"].get("detectors", []):
    fn = next((e for e in r["elements"] if e["type"] in ("function", "variable")), r["elements"][0])
    parent = fn.get("type_specific_fields", {}).get("parent", {})
    where = f"{r['check']} {parent.get('name', '')}.{fn['name']}".replace(" .", " ")
    where = re.sub(r"\(.*\)", "", where)
    if r["impact"] in ("High", "Medium") and where not in triaged:
        new.append(f"{r['impact']}: {where}")
print(f"slither: {len(report['results'].get('detectors', []))} finding(s); untriaged high/medium: {len(new)}")
for line in new:
    print("  " + line)
sys.exit(1 if new and sys.argv[3] != "--all" else 0)
PY

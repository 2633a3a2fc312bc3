"""One benchmark table (make bench): every figure measured in the same run as its reference,
on this machine. Writes benches/results.json and prints a Markdown table.

Figures: `zoo --help` vs `python -c pass`; `zoo list` with 200 models (embedded); train
tokens/s vs transformers Trainer + peft (benches/train.py); store/fetch MB/s vs raw AES-GCM
(benches/storage.py); gas per operation vs a bare OZ ERC-721 mint (benches/gas.py); the
CLI.md example session (tools/demo.sh). Sub-benchmarks that fail are reported, not hidden.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
ZOO = [PY, "-m", "zoo_cli"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _json_of(argv: list[str], timeout: int) -> dict:
    out = subprocess.run(argv, capture_output=True, text=True, env=ENV, cwd=REPO, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}: exit {out.returncode}: {out.stderr.strip()[-300:]}")
    try:
        return json.loads(out.stdout)
    except ValueError:
        return json.loads(out.stdout.strip().splitlines()[-1])


def _wall(argv: list[str], env: dict, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=env, check=True, timeout=600)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def bench_list(rows: list):
    with tempfile.TemporaryDirectory() as tmp:
        env = {**ENV, "ZOO_HOME": f"{tmp}/home"}
        subprocess.run(ZOO + ["init", "--dev"], env=env, check=True, capture_output=True, timeout=600)
        code = ("import sys\nfrom zoo_cli.config import load_settings\nfrom zoo_cli.workflows.session import Session\n"
                "s = Session(load_settings(home=sys.argv[1]))\nfn = s.nft.functions\n"
                "for i in range(200):\n    s.transact(fn.mintModel(s.address, b'\\x01'*32, b'\\0'*32, f'ipfs://m{i}'))\n")
        subprocess.run([PY, "-c", code, f"{tmp}/home"], env=env, check=True, capture_output=True, timeout=1200)
        t = _wall(ZOO + ["--json", "list"], env, runs=3)
        n = len(json.loads(subprocess.run(ZOO + ["--json", "list"], env=env, capture_output=True, text=True).stdout))
        rows.append(("zoo list (%d models, embedded)" % n, f"{t:.2f} s", "2 s budget", f"{t / 2:.2f}×", t <= 2))


def main() -> int:
    rows: list[tuple] = []
    notes: list[str] = []
    # 1. start-up
    t_help = _wall(ZOO + ["--help"], ENV, runs=7)
    t_pass = _wall([PY, "-c", "pass"], ENV, runs=7)
    rows.append(("zoo --help", f"{t_help * 1000:.0f} ms", f"python -c pass {t_pass * 1000:.0f} ms",
                 f"{t_help / t_pass:.1f}×", t_help / t_pass <= 8))
    # 2. list with 200 models
    try:
        bench_list(rows)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        notes.append(f"zoo list: not measured ({exc})")
    # 3. storage
    try:
        st = _json_of([PY, "benches/storage.py", "--size", "64MB", "--repeat", "2", "--json"], 1800)
        rows.append(("store / fetch (64 MB)", json.dumps({k: v for k, v in st.items() if "mb" in k.lower()})[:120],
                     "raw AES-GCM, same run", "see JSON", None))
        rows[-1] = rows[-1][:4] + (st.get("ok"),)
    except Exception as exc:  # noqa: BLE001
        notes.append(f"storage: not measured ({exc})")
    # 4. gas
    try:
        gas = _json_of([PY, "benches/gas.py", "--json"], 1800)
        for name, g in gas.get("gas", {}).items():
            rows.append((f"gas: {name}", str(g), "bare OZ ERC-721 mint (gas.py)", "", not gas.get("failures")))
    except Exception as exc:  # noqa: BLE001
        notes.append(f"gas: not measured ({exc})")
    # 5. training throughput
    try:
        tr = _json_of([PY, "benches/train.py", "--quick", "--json", "--steps", "10", "--repeats", "1"], 3600)
        rows.append(("train tokens/s", str(tr.get("zoo_tokens_per_s", tr)), "Trainer + peft, same run",
                     str(tr.get("speedup", "")), tr.get("ok")))
    except Exception as exc:  # noqa: BLE001
        notes.append(f"train: not measured ({exc})")
    # 6. example session
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = subprocess.run(["bash", "tools/demo.sh"], cwd=REPO, env={**ENV, "ZOO_DEMO_DIR": tmp},
                           capture_output=True, text=True, timeout=1800)
        t = time.perf_counter() - t0
        if r.returncode == 0:
            rows.append(("example session (tools/demo.sh)", f"{t:.0f} s", "3 min budget", f"{t / 180:.2f}×", t <= 180))
        else:
            notes.append(f"example session: failed after {t:.0f} s: {r.stderr.strip()[-200:]}")
    notes.append("zoo mint vs `cast send --keystore` of a bare ERC-721 mint: not measured yet")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    print(f"machine: {machine}\n")
    print("| figure | value | reference (same run) | ratio | ok |\n| --- | --- | --- | --- | --- |")
    for name, val, ref, ratio, ok in rows:
        print(f"| {name} | {val} | {ref} | {ratio} | {'yes' if ok else 'no' if ok is False else '?'} |")
    for n in notes:
        print(f"\n- {n}")
    (REPO / "benches" / "results.json").write_text(json.dumps(
        {"machine": machine, "rows": [dict(zip(("figure", "value", "reference", "ratio", "ok"), r)) for r in rows],
         "notes": notes, "when": int(time.time())}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

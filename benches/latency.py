"""Whole-process latency of script-facing commands against anvil, and the import floor under it
(issue 17).

Targets (what a shell script sees, one fresh ``zoo`` process each): ``zoo show T``,
``zoo list --limit 20`` and ``zoo account balance`` ≤ 0.5 s; ``zoo mint`` with the light dev
keystore of ``zoo init --dev`` ≤ 0.6 s. Each is printed next to its measured median (wall, and
CPU = user+sys, since a shared machine's load inflates wall time).

Below the targets, the import floor: the median wall/CPU of fresh processes that only import
(``python -c pass``; ``zoo_cli.main`` = Typer + the command tree; eth-utils/eth-abi; requests;
py_ecc.bls; eth-keyfile; eth-account; web3), so the part of each command that is library
import cost, not zoo's own work, is measured in the same run. ``import web3`` imports
eth-account in web3/__init__.py (``from eth_account import Account``), which imports
eth-keyfile, which imports py_ecc.bls (BLS12-381 pairing constants computed at import time):
every ``web3.*`` submodule pays it, so any command that talks JSON-RPC through web3 does.

The same commands are then timed again with the home's warm daemon running (``zoo daemon
start``; zoo_cli/daemon): ``zoo`` imports only the standard library and hands the command to
a process that imported web3 once. Those rows carry the targets (a script starts the daemon
once: its start-up is printed separately); the fresh-process rows stay as the reference.
Their CPU column is the caller's only (the command runs in the daemon's child).

.pyc files are written (PYTHONDONTWRITEBYTECODE dropped) and each command is run once before
timing, as on an installed zoo. Usage:
    python benches/latency.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
ZOO = [PY, "-m", "zoo_cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ZOO_") and k != "PYTHONDONTWRITEBYTECODE"}
ENV.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ZOO_NO_PROMPT="1")

TARGETS = (  # (key, label, argv after `zoo --json`, budget s)
    ("show", "zoo show T", ["show", "{token}"], 0.5),
    ("list", "zoo list --limit 20", ["list", "--limit", "20"], 0.5),
    ("balance", "zoo account balance", ["account", "balance"], 0.5),
    ("mint", "zoo mint (light dev keystore)", ["mint", "--name", "lat-{i}"], 0.6),
)

FLOOR = (  # (key, label, python -c code): each a fresh process
    ("python", "python -c pass", "pass"),
    ("zoo_main", "import zoo_cli.main (Typer + command tree)", "import zoo_cli.main"),
    ("eth_utils", "import eth_utils, eth_abi", "import eth_utils, eth_abi"),
    ("requests", "import requests", "import requests"),
    ("py_ecc_bls", "import py_ecc.bls (pairing constants)", "import py_ecc.bls"),
    ("eth_keyfile", "import eth_keyfile (imports py_ecc.bls)", "import eth_keyfile"),
    ("eth_account", "import eth_account (imports eth_keyfile)", "import eth_account"),
    ("web3", "import web3 (imports eth_account, aiohttp)", "import web3"),
    ("web3_zoo", "import web3 + zoo_cli.main", "import web3, zoo_cli.main"),
)


def _timed(argv: list[str], env: dict) -> tuple[float, float]:
    """(wall s, cpu s) of one fresh process; raises on a non-zero exit."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: nothing can block the child
        proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv[2:])}: {err.read().decode(errors='replace').strip()[-300:]}")
    return wall, usage.ru_utime + usage.ru_stime


def _median(samples: list[tuple[float, float]]) -> dict:
    return {"wall": statistics.median(s[0] for s in samples), "cpu": statistics.median(s[1] for s in samples),
            "runs": len(samples)}


def measure(runs: int = 7) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from support.anvil import start_anvil

    res: dict = {"runs": runs, "targets": {}, "floor": {}}
    node = start_anvil(31337)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**ENV, "ZOO_HOME": f"{tmp}/home", "ZOO_RPC": node.url, "ZOO_NETWORK": "anvil"}
            subprocess.run(ZOO + ["init", "--dev"], env=env, check=True, capture_output=True, timeout=600)
            out = subprocess.run(ZOO + ["--json", "mint", "--name", "lat"], env=env, check=True,
                                 capture_output=True, text=True, timeout=600).stdout
            token = str(json.loads(out)["token_id"])
            samples: dict[str, list] = {k: [] for k, *_ in TARGETS + FLOOR}

            def argv_of(key: str, i: int) -> list[str]:
                for k, _label, args, _b in TARGETS:
                    if k == key:
                        return ZOO + ["--json"] + [a.format(token=token, i=i) for a in args]
                code = next(c for k, _l, c in FLOOR if k == key)
                return [PY, "-c", code]

            for key in samples:  # warm-up: .pyc files written, page cache filled
                _timed(argv_of(key, -1), env)
            for i in range(runs):  # interleaved, so each figure sees the same load
                for key, got in samples.items():
                    got.append(_timed(argv_of(key, i), env))
            for k, label, _a, budget in TARGETS:
                res["targets"][k] = {"label": label, "budget_s": budget, **_median(samples[k])}
            t0 = time.perf_counter()
            subprocess.run(ZOO + ["daemon", "start"], env=env, check=True, capture_output=True, timeout=600)
            res["daemon_start_s"] = time.perf_counter() - t0
            try:
                warm: dict[str, list] = {k: [] for k, *_ in TARGETS}
                for key in warm:
                    _timed(argv_of(key, 99), env)
                for i in range(runs):
                    for key, got in warm.items():
                        got.append(_timed(argv_of(key, 100 + i), env))
            finally:
                subprocess.run(ZOO + ["daemon", "stop"], env=env, check=False, capture_output=True, timeout=600)
            res["daemon"] = {k: {"label": label, "budget_s": budget, **_median(warm[k])}
                             for k, label, _a, budget in TARGETS}
            for k, label, _c in FLOOR:
                res["floor"][k] = {"label": label, **_median(samples[k])}
    finally:
        node.stop()
    res["load_average"] = os.getloadavg()[0]
    res["cpus"] = os.cpu_count()
    return res


def rows_of(r: dict) -> list[tuple]:
    """(figure, value, reference, ratio, ok) rows for benches/run_all.py."""
    rows = []
    fl = r["floor"]
    web3_zoo = fl["web3_zoo"]["wall"]
    for k, t in r["daemon"].items():
        cold = r["targets"][k]["wall"]
        rows.append((f"{t['label']}, anvil, whole process, warm daemon", f"{t['wall']:.2f} s",
                     f"target {t['budget_s']} s; the same without the daemon {cold:.2f} s",
                     f"{t['wall'] / t['budget_s']:.2f}× target", t["wall"] <= t["budget_s"]))
    rows.append(("zoo daemon start (imports once; excluded above)", f"{r['daemon_start_s']:.2f} s", "-", "-", None))
    for t in r["targets"].values():
        rows.append((f"{t['label']}, anvil, whole process, no daemon", f"{t['wall']:.2f} s (cpu {t['cpu']:.2f} s)",
                     f"import floor (web3 + zoo_cli.main) {web3_zoo:.2f} s",
                     f"{t['wall'] / t['budget_s']:.2f}× the target", None))
    w3 = fl["web3"]
    rows.append(("import floor: share of web3 inside it", (f"eth_account {fl['eth_account']['cpu'] / w3['cpu']:.0%}, "
                 f"py_ecc.bls {fl['py_ecc_bls']['cpu'] / w3['cpu']:.0%} of import web3's cpu"), "-", "-", None))
    for f in fl.values():
        rows.append((f"import floor: {f['label']}", f"{f['wall']:.2f} s (cpu {f['cpu']:.2f} s)", "-", "-", None))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = measure(args.runs)
    rows = rows_of(r)
    if args.json:
        print(json.dumps({"results": r, "rows": rows}, indent=1))
    else:
        print(f"median of {r['runs']} fresh processes each, against anvil\n")
        print("| figure | value | reference | ratio | ok |\n| --- | --- | --- | --- | --- |")
        for name, val, ref, ratio, ok in rows:
            print(f"| {name} | {val} | {ref} | {ratio} | {'yes' if ok else 'no' if ok is False else '-'} |")
        fl = r["floor"]
        w3 = fl["web3"]["wall"] - fl["python"]["wall"]
        print(f"\nimport web3 costs {w3:.2f} s over bare Python; of it eth_account "
              f"{fl['eth_account']['wall'] - fl['python']['wall']:.2f} s, of which eth_keyfile "
              f"{fl['eth_keyfile']['wall'] - fl['python']['wall']:.2f} s, of which py_ecc.bls "
              f"{fl['py_ecc_bls']['wall'] - fl['python']['wall']:.2f} s")
        for k, t in r["daemon"].items():
            print(f"{t['label']} with the warm daemon: {t['wall']:.2f} s wall "
                  f"(without it {r['targets'][k]['wall']:.2f} s)")
        for t in r["targets"].values():
            print(f"{t['label']}: {t['wall']:.2f} s wall / {t['cpu']:.2f} s cpu = import floor "
                  f"{fl['web3_zoo']['wall']:.2f} / {fl['web3_zoo']['cpu']:.2f} s + "
                  f"{t['wall'] - fl['web3_zoo']['wall']:.2f} / {t['cpu'] - fl['web3_zoo']['cpu']:.2f} s "
                  "of its own imports, RPC calls and work")
        print(f"load average {r['load_average']:.1f} on {r['cpus']} CPUs")
    return 0 if all(row[4] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

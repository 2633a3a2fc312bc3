"""CLI start-up latency: median of cold runs of `zoo --help`, `zoo list --help` and `python -c pass`.

Target (issue 3 / 8): `zoo --help` ≤ 8x bare Python start-up. Usage:
    .venv/bin/python benches/cli_latency.py [--runs 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO = str(Path(sys.executable).parent / "zoo")


def median_wall(cmd: list[str], runs: int, env: dict) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(runs: int = 10) -> dict:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    # one warm-up each so .pyc files exist (a "cold" run means a new process, not an empty disk cache)
    for cmd in ([sys.executable, "-c", "pass"], [ZOO, "--help"]):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    base = median_wall([sys.executable, "-c", "pass"], runs, env)
    help_ = median_wall([ZOO, "--help"], runs, env)
    list_help = median_wall([ZOO, "list", "--help"], runs, env)
    return {
        "runs": runs,
        "python_pass_s": round(base, 4),
        "zoo_help_s": round(help_, 4),
        "zoo_list_help_s": round(list_help, 4),
        "zoo_help_ratio": round(help_ / base, 2),
        "zoo_list_help_ratio": round(list_help / base, 2),
        "target_ratio": 8.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = measure(args.runs)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"median of {r['runs']} cold runs")
    print(f"  python -c pass     {r['python_pass_s']*1000:8.1f} ms")
    print(f"  zoo --help         {r['zoo_help_s']*1000:8.1f} ms   {r['zoo_help_ratio']:.2f}x python (target <= 8x)")
    print(f"  zoo list --help    {r['zoo_list_help_s']*1000:8.1f} ms   {r['zoo_list_help_ratio']:.2f}x python (target <= 8x)")


if __name__ == "__main__":
    main()

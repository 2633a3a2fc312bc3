"""Per-evaluation time of the local verifier (issue 17's scaling figures, docs/scaling.md).

What a verifier does per submitted update, after its process is warm (base model and
libraries loaded once): load the owner's LoRA adapter on the base model and score it on its
held-out evaluation set (EVAL_RECORDS_PER_TASK records per task). Prints the median seconds
per evaluation over --repeats and the one-off warm-up. Usage:
    python benches/verifier_eval.py [--tasks 1] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def measure(tasks: int, repeats: int) -> dict:
    import torch

    from zoo_cli.engine.base import resolve_base
    from zoo_cli.engine.evaluate import evaluate
    from zoo_cli.engine.synth import synth
    from zoo_cli.workflows.reports import EVAL_RECORDS_PER_TASK

    torch.set_num_threads(1)
    names = ["defi", "gaming", "nft", "social", "governance"][:tasks]
    records = [r for t in names for r in synth(t, EVAL_RECORDS_PER_TASK, 7)]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        base = resolve_base(None, Path(tmp))
        evaluate(base, None, records[:2])  # warm-up: imports, base build, first forward
        warm = time.perf_counter() - t0
        times, cpu = [], []
        for _ in range(repeats):
            t1, c1 = time.perf_counter(), time.process_time()
            evaluate(base, None, records)
            times.append(time.perf_counter() - t1)
            cpu.append(time.process_time() - c1)
    per = statistics.median(times)
    return {"records": len(records), "tasks": names, "warmup_s": warm, "per_evaluation_s": per,
            "per_evaluation_cpu_s": statistics.median(cpu), "load_average": os.getloadavg()[0],
            "evaluations_per_minute_per_worker": 60 / per, "torch_threads": 1}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = measure(a.tasks, a.repeats)
    print(json.dumps(r, indent=1) if a.json else
          f"{r['records']} records: {r['per_evaluation_s']:.2f} s per evaluation "
          f"({r['evaluations_per_minute_per_worker']:.1f}/min per 1-thread worker), warm-up {r['warmup_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

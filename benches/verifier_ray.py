"""Verifier evaluation fan-out (issue 17, item 3): 32 evaluation jobs on 1 vs 2 workers, on a
local Ray cluster (`--ray auto`) and on the local process pool (the default executor).

Each job is the worker half of a verifier job exactly as the service hands it out
(workflows/verifier.py ``score_work_order``): decrypt a sealed LoRA container with the job's
content key, load it on the built-in base (zoo-tiny) and score it on EVAL_RECORDS_PER_TASK
records; one torch thread per worker (OMP_NUM_THREADS=1). Start-up (cluster or pool, and
each worker's first job: imports, base model) is measured and printed separately; the timed
part is the 32 jobs submitted at once through the JobExecutor interface. The per-job
overhead is an executor's wall time per job with 1 worker minus the median evaluation time
in the worker (timed there): dispatch, sealing, transfer and result collection. An evaluation
run in this process is printed for reference. The machine's load average is printed with
the results (shared CPUs).

Usage: python benches/verifier_ray.py [--jobs 32] [--json] [--skip-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["OMP_NUM_THREADS"] = "1"  # inherited by pool workers and the local Ray cluster
os.environ["MKL_NUM_THREADS"] = "1"

os.environ["PYTHONPATH"] = os.pathsep.join(x for x in (str(ROOT), os.environ.get("PYTHONPATH")) if x)
TASK = "benches.verifier_ray:timed_score"  # importable in pool and Ray workers (PYTHONPATH above)


def timed_score(order: dict) -> dict:
    """The verifier's worker entry, timed inside the worker (what the executor adds is the rest)."""
    from zoo_cli.workflows.verifier import score_work_order

    t = time.perf_counter()
    scores = score_work_order(order)
    return {**scores, "compute_s": time.perf_counter() - t}


def make_orders(n: int) -> tuple[list[dict], float]:
    """``n`` work orders (one sealed adapter, trained briefly) and the in-process seconds per evaluation."""
    import torch

    from zoo_cli.config import default_cache
    from zoo_cli.engine.base import resolve_base
    from zoo_cli.engine.data import dataset_from_records
    from zoo_cli.engine.synth import synth
    from zoo_cli.engine.train import TrainConfig, train
    from zoo_cli.storage.container import pack_files
    from zoo_cli.storage.envelope import encrypt_bytes, new_content_key
    from zoo_cli.workflows import verifier as wf
    from zoo_cli.workflows.reports import EVAL_RECORDS_PER_TASK

    torch.set_num_threads(1)
    base = resolve_base(None, default_cache())
    adapter = train(base, dataset_from_records(synth("defi", 200, 1)), TrainConfig(steps=4, threads=1)).adapter
    key = new_content_key()
    payload = encrypt_bytes(key, pack_files({f"adapter/{k}": v for k, v in adapter.items()}))
    records = [r.model_dump(mode="json") for r in dataset_from_records(synth("defi", EVAL_RECORDS_PER_TASK, 7)).records]
    order = {"base": "zoo-tiny", "base_hash": base.hash_hex, "content_key": key, "payload": payload,
             "records": records, "with_base": False}
    wf.score_work_order(order)  # warm this process
    times = []
    for _ in range(7):
        t = time.perf_counter()
        wf.score_work_order(order)
        times.append(time.perf_counter() - t)
    return [dict(order) for _ in range(n)], statistics.median(times)


def run_batch(executor, orders: list[dict], prefix: str) -> tuple[float, float]:
    """Submit every order at once: (seconds until the last one is done, median in-worker seconds)."""
    left = len(orders)
    compute: list[float] = []
    all_done = threading.Event()
    lock = threading.Lock()
    errors: list = []

    def done(job_id, result, error):
        nonlocal left
        if error is not None:
            errors.append((job_id, error))
        else:
            compute.append(result["compute_s"])
        with lock:
            left -= 1
            if left == 0:
                all_done.set()

    t = time.perf_counter()
    for i, order in enumerate(orders):
        executor.submit(f"{prefix}-{i}", TASK, order, done)
    if not all_done.wait(timeout=3600):
        raise RuntimeError(f"{prefix}: jobs did not finish")
    elapsed = time.perf_counter() - t
    if errors:
        raise RuntimeError(f"{prefix}: {errors[0]}")
    return elapsed, statistics.median(compute)


def measure(kind: str, workers: int, orders: list[dict], temp: str) -> dict:
    from zoo_cli.services.jobs import LocalProcessExecutor

    t = time.perf_counter()
    if kind == "ray":
        from zoo_cli.services.ray_executor import RayExecutor

        executor = RayExecutor("auto", workers=workers, temp_dir=temp)
    else:
        executor = LocalProcessExecutor(workers)
    start = time.perf_counter() - t
    try:
        warm, _ = run_batch(executor, orders[:workers * 2], f"{kind}{workers}-warm")  # each worker's first job
        load_before = os.getloadavg()[0]
        elapsed, compute = run_batch(executor, orders, f"{kind}{workers}")
    finally:
        executor.shutdown()
    return {"executor": kind, "workers": workers, "startup_s": start, "warmup_s": warm, "jobs": len(orders),
            "wall_s": elapsed, "per_job_s": elapsed / len(orders), "worker_compute_s": compute,
            "overhead_per_job_s": elapsed / len(orders) * workers - compute, "load_before": load_before,
            "load_after": os.getloadavg()[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--skip-ray", action="store_true", help="process pool only (Ray not installed)")
    a = ap.parse_args()
    import importlib.util

    kinds = ["pool"] + ([] if a.skip_ray or importlib.util.find_spec("ray") is None else ["ray"])
    orders, direct = make_orders(a.jobs)
    runs = []
    temp = tempfile.mkdtemp(prefix="zrb", dir="/tmp")  # Ray's socket paths must stay short
    for kind in kinds:
        for workers in (1, 2):
            runs.append(measure(kind, workers, orders, temp))
    out = {"jobs": a.jobs, "cpus": os.cpu_count(), "in_process_eval_s": direct, "runs": runs}
    for kind in kinds:
        one, two = (next(r for r in runs if r["executor"] == kind and r["workers"] == w) for w in (1, 2))
        out[f"{kind}_speedup"] = one["wall_s"] / two["wall_s"]
        out[f"{kind}_overhead_per_job_s"] = one["overhead_per_job_s"]
    if a.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{a.jobs} evaluation jobs (zoo-tiny + LoRA, {len(orders[0]['records'])} records each, 1 torch thread "
          f"per worker), {out['cpus']} CPUs; in-process evaluation {direct:.2f} s")
    for r in runs:
        print(f"  {r['executor']:4} x{r['workers']}: start-up {r['startup_s']:5.1f} s, warm-up {r['warmup_s']:5.1f} s | "
              f"{r['wall_s']:6.1f} s for {r['jobs']} jobs = {r['per_job_s']:.2f} s/job, "
              f"{r['worker_compute_s']:.2f} s in the worker "
              f"(load {r['load_before']:.1f} -> {r['load_after']:.1f})")
    for kind in kinds:
        print(f"  {kind}: speed-up 1 -> 2 workers {out[f'{kind}_speedup']:.2f}x (target >= 1.7x), "
              f"overhead per job (1 worker) {out[f'{kind}_overhead_per_job_s'] * 1000:+.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

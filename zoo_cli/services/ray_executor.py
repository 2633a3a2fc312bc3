"""Jobs on a Ray cluster: the :class:`~zoo_cli.services.jobs.JobExecutor` behind ``--ray``.

Each job is one Ray task (``num_cpus=1``: one job per worker CPU at a time; Ray sets
``OMP_NUM_THREADS=1`` in it, so torch uses one thread). The queue, the checks and every
signature stay in the service process (services/jobs.py ``SplitTask``): a task receives a
work order — for the verifier a container's ciphertext, that job's content key and the
evaluation records — and returns scores.

**Secrets and Ray's object store.** Large task arguments go through Ray's object store,
which spills to disk under memory pressure, and a work order holds a content key and the
verifier's private evaluation records. So the executor seals each work order with a fresh
per-job key (AES-256-GCM, the job id as associated data) and ``ray.put``\\ s only that
ciphertext. The 32-byte job key travels as a plain task argument: Ray inlines arguments
under 100 KiB in the task specification (memory and gRPC, never the object store, never a
spill file) and the worker drops it after use. What this does not cover: a party who can
read a worker's memory or the cluster's network traffic — run a multi-node cluster on a
private network with Ray's TLS (``RAY_USE_TLS=1``, docs/verifier.md).

**Retries.** A worker killed mid-job (OOM killer, node lost) is a system failure: Ray runs
the task again (``max_retries``) from the same sealed work order, and the service records
and signs the job once (``JobStore.finish``). An error the job raises is its answer, never
retried.
"""

from __future__ import annotations

import threading
from typing import Any

from zoo_cli.services.jobs import Done, run_task


def check_ray_address(address: str) -> str:
    """``auto``, ``ray://HOST:PORT`` or ``HOST:PORT``, with Ray installed (the ``cluster`` extra)."""
    import importlib.util
    import re

    from zoo_cli.errors import BadInput, NotFound

    if address != "auto" and not re.fullmatch(r"(ray://)?[A-Za-z0-9.\-\[\]:]+:\d{1,5}", address):
        raise BadInput(f"--ray {address!r} is not auto, ray://HOST:PORT or HOST:PORT",
                       hint="zoo verifier serve --ray auto (a local cluster) or --ray HEAD_HOST:6379")
    if importlib.util.find_spec("ray") is None:
        raise NotFound("Ray is not installed (an optional extra)",
                       hint="pip install 'zoo-cli[cluster]', or serve without --ray (local worker processes)")
    return address


def seal_order(job_id: str, payload: dict) -> tuple[bytes, bytes]:
    """``(job key, sealed work order)``: the pickled payload under a fresh AES-256-GCM key."""
    import os
    import pickle

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    return key, nonce + AESGCM(key).encrypt(nonce, pickle.dumps(payload, protocol=5), job_id.encode())


def open_order(job_id: str, key: bytes, sealed: bytes) -> dict:
    import pickle

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return pickle.loads(AESGCM(key).decrypt(sealed[:12], sealed[12:], job_id.encode()))  # authenticated: ours


def run_sealed(job_id: str, task: str, sealed: bytes, key: bytes) -> tuple[dict | None, dict | None]:
    """Ray task body: open the work order and run ``task`` on it (services/jobs.py run_task)."""
    payload = open_order(job_id, key, sealed)
    del key
    return run_task(task, payload)


class RayExecutor:
    """Jobs as Ray tasks on the cluster at ``address`` (``auto``: a local cluster with
    ``workers`` CPUs; ``ray://HOST:PORT`` or ``HOST:PORT``: an existing one)."""

    def __init__(self, address: str, *, workers: int = 1, max_retries: int = 3, temp_dir: str | None = None):
        self.address = address
        self._pending: dict[Any, tuple[str, Done]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        started = threading.Event()
        failure: list[BaseException] = []

        def connect_and_collect() -> None:
            # Ray's local processes are fate-shared with the *thread* that starts them
            # (PR_SET_PDEATHSIG): ray.init runs in this thread, which lives until shutdown()
            from zoo_cli.childproc import ray_init

            try:
                self._ray = ray_init(address, num_cpus=workers, temp_dir=temp_dir)
                self._remote = self._ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(run_sealed)
            except BaseException as err:  # noqa: BLE001 - re-raised by __init__
                failure.append(err)
                return
            finally:
                started.set()
            try:
                self._collect()
            finally:  # from this thread, before it ends: a clean stop of a local cluster
                try:
                    self._ray.shutdown()
                except Exception:  # noqa: BLE001, S110 - stopping anyway
                    pass

        self._collector = threading.Thread(target=connect_and_collect, name="ray-jobs", daemon=True)
        self._collector.start()
        started.wait()
        if failure:
            raise failure[0]

    def submit(self, job_id: str, task: str, payload: dict, done: Done) -> None:
        with self._lock:
            if self._stopped or any(j == job_id for j, _ in self._pending.values()):
                return
            key, sealed = seal_order(job_id, payload)
            ref = self._remote.remote(job_id, task, self._ray.put(sealed), key)
            self._pending[ref] = (job_id, done)
        self._wake.set()

    def active(self) -> set[str]:
        with self._lock:
            return {j for j, _ in self._pending.values()}

    def shutdown(self) -> None:
        """Stop collecting; a local (``auto``) cluster stops with the service, tasks on an
        existing cluster finish there unrecorded (their jobs resume at the next start)."""
        with self._lock:
            self._stopped = True
            self._pending.clear()
        self._wake.set()
        self._collector.join(timeout=60)

    def _collect(self) -> None:
        ray = self._ray
        while True:
            with self._lock:
                if self._stopped:
                    return
                refs = list(self._pending)
            if not refs:
                self._wake.wait(timeout=1.0)
                self._wake.clear()
                continue
            ready, _ = ray.wait(refs, num_returns=1, timeout=0.5)
            for ref in ready:
                with self._lock:
                    entry = self._pending.pop(ref, None)
                if entry is None:
                    continue
                job_id, done = entry
                try:
                    result, error = ray.get(ref)
                except Exception as err:  # noqa: BLE001 - retries exhausted, node lost, cancelled
                    result, error = None, {"code": "worker_failed", "message": f"{type(err).__name__}: {err}"[:500],
                                           "hint": "retry"}
                done(job_id, result, error)

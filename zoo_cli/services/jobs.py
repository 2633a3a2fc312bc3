"""Persistent jobs and the executor interface they run on.

A **job** is accepted once (``JobStore.create`` is idempotent by the request's hash: the
same request body returns the same job), persisted before the client hears ``202``, and
completed exactly once: ``finish`` only moves a job out of ``queued``/``running``, so a
result computed twice (after a SIGKILL mid-run the job is resubmitted at restart) is
recorded once. Job functions must therefore be deterministic or idempotent (the verifier's
evaluation and its RFC 6979 signatures are).

The **executor interface** (``JobExecutor``) is three methods, so a Ray executor can replace
the local process pool without touching the services::

    submit(job_id, task, payload, done)  # run task(payload) somewhere; call done(job_id, result, error)
    active() -> set[str]                 # job ids submitted and not yet done
    shutdown()                           # stop accepting; running jobs are resumed at next start

``task`` is a dotted ``"package.module:function"`` taking one dict (JSON-able, or bytes
values) and returning one; ``error`` is ``{"code", "message", "hint"}`` (a ZooError's
``reason`` or class name).

A job kind is either a plain task (the whole job runs in a worker) or a :class:`SplitTask`,
which keeps every secret in the service process: ``prepare`` (service: checks, keys, the
work order), ``compute`` (worker: the work order in, scores out) and ``finish`` (service:
build and sign the result). The work order is never persisted; a job resumed after a
restart is prepared again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from zoo_cli.services.store import StateDB

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
Done = Callable[[str, "dict | None", "dict | None"], None]


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    request_hash: str
    signer: str
    state: str
    payload: dict
    result: dict | None
    error: dict | None
    attempts: int
    completions: int
    created: float
    updated: float

    def public(self) -> dict:
        """The job as the API returns it."""
        return {"id": self.id, "kind": self.kind, "state": self.state, "signer": self.signer,
                "result": self.result, "error": self.error, "attempts": self.attempts,
                "created": self.created, "updated": self.updated}


def request_hash(kind: str, body: dict) -> str:
    """Idempotency key: sha256 of the canonical JSON body (signing headers excluded)."""
    canon = json.dumps({"kind": kind, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


class JobStore:
    def __init__(self, db: StateDB):
        self.db = db

    _COLS = "id, kind, request_hash, signer, state, payload, result, error, attempts, completions, created, updated"

    def _row(self, row) -> Job:
        (id_, kind, rh, signer, state, payload, result, error, attempts, completions, created, updated) = row
        return Job(id_, kind, rh, signer, state, json.loads(payload), json.loads(result) if result else None,
                   json.loads(error) if error else None, attempts, completions, created, updated)

    def create(self, kind: str, body: dict, signer: str, payload: dict) -> tuple[Job, bool]:
        """The job for this request, created if new: ``(job, created)``."""
        import sqlite3

        rh = request_hash(kind, body)
        now = time.time()
        try:
            self.db.execute(f"INSERT INTO jobs({self._COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            (rh[:32], kind, rh, signer, QUEUED, json.dumps(payload), None, None, 0, 0, now, now))
            created = True
        except sqlite3.IntegrityError:
            created = False
        job = self.by_hash(rh)
        assert job is not None
        return job, created

    def get(self, job_id: str) -> Job | None:
        rows = self.db.query(f"SELECT {self._COLS} FROM jobs WHERE id = ?", (job_id,))
        return self._row(rows[0]) if rows else None

    def by_hash(self, rh: str) -> Job | None:
        rows = self.db.query(f"SELECT {self._COLS} FROM jobs WHERE request_hash = ?", (rh,))
        return self._row(rows[0]) if rows else None

    def unfinished(self, kind: str | None = None) -> list[Job]:
        """Jobs accepted and not finished (of ``kind`` when given), oldest first."""
        rows = self.db.query(f"SELECT {self._COLS} FROM jobs WHERE state IN (?, ?) ORDER BY created", (QUEUED, RUNNING))
        return [j for j in map(self._row, rows) if kind is None or j.kind == kind]

    def finished(self, kind: str | None = None) -> list[Job]:
        """Jobs already done or failed (of ``kind`` when given), oldest first."""
        rows = self.db.query(f"SELECT {self._COLS} FROM jobs WHERE state IN (?, ?) ORDER BY created", (DONE, FAILED))
        return [j for j in map(self._row, rows) if kind is None or j.kind == kind]

    def start(self, job_id: str) -> None:
        self.db.execute("UPDATE jobs SET state = ?, attempts = attempts + 1, updated = ? WHERE id = ? AND state IN (?, ?)",
                        (RUNNING, time.time(), job_id, QUEUED, RUNNING))

    def finish(self, job_id: str, result: dict | None, error: dict | None) -> bool:
        """Record the outcome once; False when the job had already finished."""
        cur = self.db.execute(
            "UPDATE jobs SET state = ?, result = ?, error = ?, completions = completions + 1, updated = ? "
            "WHERE id = ? AND state IN (?, ?)",
            (DONE if error is None else FAILED, json.dumps(result) if result is not None else None,
             json.dumps(error) if error is not None else None, time.time(), job_id, QUEUED, RUNNING))
        return cur.rowcount == 1


class JobExecutor(Protocol):
    """Where jobs run (see the module docstring)."""

    def submit(self, job_id: str, task: str, payload: dict, done: Done) -> None: ...

    def active(self) -> set[str]: ...

    def shutdown(self) -> None: ...


def run_task(task: str, payload: dict) -> tuple[dict | None, dict | None]:
    """Import and run ``task`` (``module:function``); errors become ``{code, message, hint}``."""
    import importlib

    module, _, name = task.partition(":")
    fn = getattr(importlib.import_module(module), name)
    try:
        return fn(payload), None
    except Exception as err:  # noqa: BLE001 - reported as the job's error, never lost
        return None, job_error(err)


def job_error(err: BaseException) -> dict:
    """``{code, message, hint}`` of an exception: a ZooError's ``reason`` (or class name) and
    its hint; anything else is an ``internal_error``."""
    from zoo_cli.errors import ZooError

    if isinstance(err, ZooError):
        return {"code": getattr(err, "reason", None) or type(err).__name__, "message": err.message,
                "hint": err.hint or ""}
    return {"code": "internal_error", "message": f"{type(err).__name__}: {err}", "hint": ""}


class LocalProcessExecutor:
    """A process pool on this machine (spawned workers: no fork of a threaded server).
    Workers stay alive between jobs, so heavy imports and models load once per worker."""

    def __init__(self, workers: int = 1):
        from zoo_cli.childproc import worker_pool

        self._pool = worker_pool(workers)
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def submit(self, job_id: str, task: str, payload: dict, done: Done) -> None:
        with self._lock:
            if job_id in self._active:
                return
            self._active.add(job_id)
        future = self._pool.submit(run_task, task, payload)

        def finished(f) -> None:
            with self._lock:
                self._active.discard(job_id)
            try:
                result, error = f.result()
            except Exception as err:  # noqa: BLE001 - a worker that died (e.g. OOM-killed)
                result, error = None, {"code": "worker_failed", "message": f"{type(err).__name__}: {err}", "hint": "retry"}
            done(job_id, result, error)

        future.add_done_callback(finished)

    def active(self) -> set[str]:
        with self._lock:
            return set(self._active)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class SplitTask:
    """A job kind whose secrets stay in the service process (module docstring).

    ``prepare(payload) -> (work_order, context)`` and ``finish(context, worker_result) -> result``
    run in the service (they may raise ZooErrors: the job fails with their reason);
    ``compute`` is the ``"module:function"`` the executor runs on the work order."""

    prepare: Callable[[dict], tuple[dict, Any]]
    compute: str
    finish: Callable[[Any, dict], dict]


class JobRunner:
    """Store + executor: accept, run, record once, and resume unfinished jobs at start.

    ``tasks`` maps a job kind to a plain task (``"module:function"``) or a :class:`SplitTask`;
    split tasks prepare and finish on ``service_threads`` threads of this process."""

    def __init__(self, store: JobStore, executor: JobExecutor, tasks: dict[str, str | SplitTask], log=None,
                 service_threads: int = 2):
        import concurrent.futures

        self.store, self.executor, self.tasks = store, executor, tasks
        self.log = log or (lambda *a, **k: None)
        self._service = concurrent.futures.ThreadPoolExecutor(max_workers=service_threads,
                                                              thread_name_prefix="job-service")
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def accept(self, kind: str, body: dict, signer: str, payload: dict) -> tuple[Job, bool]:
        job, created = self.store.create(kind, body, signer, payload)
        if created:
            self.log("job_accepted", job=job.id, kind=kind, signer=signer)
            self._run(job)
        return job, created

    def resume(self, kind: str | None = None) -> int:
        """Resubmit every job (of ``kind`` when given) a previous process accepted but did not finish."""
        jobs = self.store.unfinished(kind)
        for job in jobs:
            self.log("job_resumed", job=job.id, kind=job.kind, attempts=job.attempts)
            self._run(job)
        return len(jobs)

    def active(self) -> set[str]:
        """Jobs being prepared, computed or finished now."""
        with self._lock:
            return set(self._inflight)

    def shutdown(self) -> None:
        """Stop: queued preparations are dropped, running jobs resume at the next start."""
        self._stopped = True
        self._service.shutdown(wait=False, cancel_futures=True)
        self.executor.shutdown()

    def _run(self, job: Job) -> None:
        with self._lock:
            if job.id in self._inflight:
                return
            self._inflight.add(job.id)
        self.store.start(job.id)
        task = self.tasks[job.kind]
        if isinstance(task, str):
            self.executor.submit(job.id, task, job.payload, self._done)
        else:
            try:
                self._service.submit(self._prepare, job, task)
            except RuntimeError:  # shut down meanwhile: the job resumes at the next start
                pass

    def _prepare(self, job: Job, task: SplitTask) -> None:
        try:
            order, context = task.prepare(job.payload)
        except Exception as err:  # noqa: BLE001 - a refusal (or a failure) is the job's error
            self._done(job.id, None, job_error(err))
            return

        def computed(job_id: str, result: dict | None, error: dict | None) -> None:
            if error is not None:
                self._done(job_id, None, error)
            else:
                try:
                    self._service.submit(self._finish, job_id, task, context, result)
                except RuntimeError:  # shut down meanwhile: the job resumes at the next start
                    pass

        self.executor.submit(job.id, task.compute, order, computed)

    def _finish(self, job_id: str, task: SplitTask, context: Any, computed: dict) -> None:
        try:
            result, error = task.finish(context, computed), None
        except Exception as err:  # noqa: BLE001
            result, error = None, job_error(err)
        self._done(job_id, result, error)

    def _done(self, job_id: str, result: dict | None, error: dict | None) -> None:
        if self._stopped:  # an outcome arriving after shutdown: the job resumes at the next start
            return
        recorded = self.store.finish(job_id, result, error)  # before leaving `active`: no gap a watcher sees
        with self._lock:
            self._inflight.discard(job_id)
        self.log("job_finished", job=job_id, ok=error is None, recorded=recorded,
                 **({"error": error.get("code")} if error else {}))

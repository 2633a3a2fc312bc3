"""`zoo verifier serve`: the verifier's HTTP API (docs/verifier.md).

    GET  /v1/verifier                 who this is: verifier address, chain id, contracts, allowed bases
    POST /v1/evaluations              signed by the token's owner/approved: 202 + job
    GET  /v1/evaluations/{id}         the job; ``result`` holds the signed TrainingReport
    POST /v1/specializations          signed: 202 + job (a signed SpecializationProof)
    GET  /v1/specializations/{id}
    GET  /healthz

The routes parse, authenticate and hand over to zoo_cli/workflows/verifier.py; jobs persist in
``$ZOO_HOME/verifier/state.db``. Checks, keys and signatures stay in this process; only the
evaluation itself (a work order: container ciphertext, its content key, the evaluation
records) runs on the executor — a local process pool, or a Ray cluster (``--ray``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

from fastapi import Request  # this module is imported only by `zoo verifier serve`
from pydantic import BaseModel, ConfigDict, Field

from zoo_cli.config import Settings
from zoo_cli.services.http import (
    ApiError,
    ServiceConfig,
    api_error_from,
    create_app,
    start_in_background,
)
from zoo_cli.services.ray_executor import check_ray_address

__all__ = ["build_app", "check_ray_address", "serve_verifier"]

MAX_BODY = 16 * 1024

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
Cid = Annotated[str, Field(min_length=8, max_length=120, pattern=r"^[A-Za-z0-9]+$")]
U64 = Annotated[int, Field(ge=0, lt=2**63)]


class EvaluationRequest(BaseModel):
    """A request for a verified TrainingReport on a new generation (signed by the owner)."""

    model_config = ConfigDict(extra="forbid")
    token_id: U64
    generation: U64 = Field(description="the token's current generation (the report's nonce)")
    model_cid: Cid = Field(description="the new container (UnixFS directory) CID")
    model_hash: Hex32 = Field(description="its root digest, the updateModel newHash")
    dataset_root: Hex32
    ops: Annotated[int, Field(gt=0, lt=2**63)]
    tasks: Annotated[list[str], Field(min_length=1, max_length=5)]
    deadline: U64 = Field(description="the report's deadline (chain time, unix seconds)")
    key_envelope: Cid = Field(description="a key envelope wrapping the content key to this verifier's KeyRegistry keys")


class SpecializationRequest(BaseModel):
    """A request for a SpecializationProof on the token's current generation."""

    model_config = ConfigDict(extra="forbid")
    token_id: U64
    generation: U64
    spec: Annotated[int, Field(ge=0, le=7)]
    deadline: U64
    key_envelope: Cid


def _body_schema(model: type[BaseModel]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


def build_app(settings: Settings, *, workers: int = 1, log=None, address_per_minute: float = 60,
              ip_per_minute: float = 600, ray: str | None = None):
    """The verifier app for the verifier account of ``settings`` (its own home and keystore);
    evaluations run on ``workers`` local processes, or on the Ray cluster ``ray``
    (``auto``, ``ray://HOST:PORT`` or ``HOST:PORT``: services/ray_executor.py)."""
    import contextlib

    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse

    from zoo_cli.errors import ZooError
    from zoo_cli.services.auth import NonceStore, authenticate
    from zoo_cli.services.jobs import JobRunner, JobStore, LocalProcessExecutor
    from zoo_cli.services.store import StateDB
    from zoo_cli.workflows import verifier as wf

    log = log or (lambda *a, **k: None)
    state: dict = {"identity": None, "error": None}
    ready = threading.Event()
    db = StateDB(wf.verifier_dir(settings) / "state.db")
    nonces = NonceStore(db)
    store = JobStore(db)

    def start() -> None:
        state["identity"] = wf.identity(settings)
        if ray:
            from zoo_cli.services.ray_executor import RayExecutor

            executor = RayExecutor(ray, workers=workers)
        else:
            executor = LocalProcessExecutor(workers)
        state["runner"] = JobRunner(store, executor, wf.job_tasks(settings), log,
                                    service_threads=max(2, workers))
        resumed = state["runner"].resume()
        log("ready", verifier=state["identity"]["verifier"], chain_id=state["identity"]["chain_id"], resumed=resumed,
            executor=f"ray:{ray}" if ray else f"processes:{workers}")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # identity (chain, keystore, KeyRegistry keys) comes up in the background so the
        # service binds and answers /openapi.json at once; models load in the job workers
        start_in_background("verifier-start", start, state, ready, log)
        try:
            yield
        finally:
            runner = state.get("runner")
            if runner is not None:
                runner.shutdown()
            log("shutdown", pending=len(store.unfinished()))
            db.close()

    config = ServiceConfig(
        name="zoo verifier", version="1", max_body=MAX_BODY, log=log, address_per_minute=address_per_minute,
        ip_per_minute=ip_per_minute,
        description="Verified training reports and specialization proofs from a VERIFIER key (docs/verifier.md).")
    app = create_app(config, lifespan=lifespan)

    def identity() -> dict:
        if not ready.wait(timeout=60):
            raise ApiError(503, "starting", "the service is starting", "retry in a few seconds")
        if state["error"] is not None:
            err = state["error"]
            raise ApiError(503, "not_ready", err.message, err.hint or "")
        return state["identity"]

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True, "ready": ready.is_set() and state["error"] is None}

    @app.get("/v1/verifier")
    async def verifier_info() -> dict:
        """The verifier's address (owners check its VERIFIER role on-chain), chain id,
        contracts and the base model hashes it evaluates."""
        return await run_in_threadpool(identity)

    async def signed_post(request: Request, kind: str, model: type[BaseModel], check) -> JSONResponse:
        body = await request.body()
        ident = await run_in_threadpool(identity)
        signer = authenticate(request.headers, method="POST", path=request.url.path, body=body,
                              chain_id=ident["chain_id"], server=ident["verifier"], nonces=nonces,
                              limiter=app.state.address_limiter)
        try:
            parsed = model.model_validate_json(body)
        except ValueError as exc:
            errors = getattr(exc, "errors", list)()
            first = errors[0] if errors else {}
            where = ".".join(str(x) for x in first.get("loc", ()))
            raise ApiError(400, "bad_request", f"invalid request: {where}: {first.get('msg', exc)}".strip(),
                           "see /openapi.json for the request schema") from None
        data = parsed.model_dump()
        from zoo_cli.services.jobs import request_hash

        existing = store.by_hash(request_hash(kind, data))
        if existing is not None and existing.signer.lower() == signer.lower():
            return JSONResponse(existing.public(), status_code=200 if existing.state in ("done", "failed") else 202)
        try:
            payload = await run_in_threadpool(check, settings, signer, data)
        except ZooError as err:
            api = api_error_from(err)
            log("refused", kind=kind, signer=signer, code=api.code)
            raise api from None
        job, _ = state["runner"].accept(kind, data, signer, payload)
        return JSONResponse(job.public(), status_code=202, headers={"Location": f"{request.url.path}/{job.id}"})

    def get_job(kind: str, job_id: str) -> dict:
        job = store.get(job_id)
        if job is None or job.kind != kind:
            raise ApiError(404, "unknown_job", f"no {kind} job {job_id}")
        return job.public()

    @app.post("/v1/evaluations", status_code=202, openapi_extra=_body_schema(EvaluationRequest))
    async def post_evaluation(request: Request):
        """Ask for a verified TrainingReport on a new generation (EIP-712 signed request)."""
        return await signed_post(request, "evaluation", EvaluationRequest, wf.check_evaluation)

    @app.get("/v1/evaluations/{job_id}")
    async def get_evaluation(job_id: str) -> dict:
        return get_job("evaluation", job_id)

    @app.post("/v1/specializations", status_code=202, openapi_extra=_body_schema(SpecializationRequest))
    async def post_specialization(request: Request):
        """Ask for a SpecializationProof on the token's current generation (signed request)."""
        return await signed_post(request, "specialization", SpecializationRequest, wf.check_specialization)

    @app.get("/v1/specializations/{job_id}")
    async def get_specialization(job_id: str) -> dict:
        return get_job("specialization", job_id)

    return app


def serve_verifier(settings: Settings, host: str, port: int, *, workers: int = 1, log_file: Path | None = None,
                   address_per_minute: float = 60, ip_per_minute: float = 600, ray: str | None = None) -> None:
    from zoo_cli.services.http import serve
    from zoo_cli.services.logs import JsonLog

    if ray:
        check_ray_address(ray)
    log = JsonLog(log_file, service="verifier")
    try:
        app = build_app(settings, workers=workers, log=log, address_per_minute=address_per_minute,
                        ip_per_minute=ip_per_minute, ray=ray)
        serve(app, host, port, log=log)
    finally:
        log.close()

"""`zoo serve`: the owner-run model API (docs/serve.md).

    GET  /healthz                         {ok, ready, server, warm_models, queued}
    GET  /v1/server                       who serves: server address, chain id, contracts
    GET  /v1/models                       the serving account's tokens (public)
    GET  /v1/models/{token}               one token's public metadata (public)
    POST /v1/models/{token}/ask           signed: {prompt}
    POST /v1/models/{token}/suggest       signed: {task, fields}
    POST /v1/ensemble/ask                 signed: {tokens, prompt}
    POST /v1/ensemble/suggest             signed: {tokens, task, fields}

Signed routes: 401 for any signature problem first (strict ``authenticate``), then 400 for
the body, 404/403 from chain state, 429 + Retry-After when the inference queue is full,
504 past the request timeout. The logic is in zoo_cli/workflows/serve.py.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import Request  # this module is imported only by `zoo serve`
from pydantic import BaseModel, ConfigDict, Field

from zoo_cli.config import Settings
from zoo_cli.services.http import (
    ApiError,
    ServiceConfig,
    api_error_from,
    create_app,
    start_in_background,
)

MAX_BODY = 64 * 1024
TokenId = Annotated[int, Field(ge=1, lt=2**63)]


class AskRequest(BaseModel):
    """A free-text prompt in the training format (e.g. ``pool=ETH/USDC apy=4.2 risk=low ->``)."""

    model_config = ConfigDict(extra="forbid")
    prompt: Annotated[str, Field(min_length=1, max_length=2000)]


class SuggestRequest(BaseModel):
    """A ZIP-6 integration task (defi/yield, gaming/npc, nft/traits, social, governance) and its fields."""

    model_config = ConfigDict(extra="forbid")
    task: Annotated[str, Field(min_length=1, max_length=40)]
    fields: dict[str, Any] = Field(default_factory=dict)


class EnsembleAskRequest(AskRequest):
    tokens: Annotated[list[TokenId], Field(min_length=1, max_length=8)]


class EnsembleSuggestRequest(SuggestRequest):
    tokens: Annotated[list[TokenId], Field(min_length=1, max_length=8)]


class Member(BaseModel):
    token_id: int
    generation: int
    model_hash: str
    performance: int
    role: str = Field(description="the caller's right: owner or user (ERC-4907 user: grant, key lease or hosted lease)")


class Attestation(BaseModel):
    signer: str = Field(description="the serving account (the tokens' owner)")
    chain_id: int
    request_hash: str = Field(description="EIP-712 digest of the caller's ServiceRequest")
    result_hash: str = Field(description="keccak256 of result_text (UTF-8)")
    issued_at: int
    signature: str = Field(description="EIP-712 ModelAnswer signature by signer")


class Answer(BaseModel):
    """An answer, signed by the serving account (an attestation, not a proof of computation)."""

    tokens: list[int]
    members: list[Member]
    result: dict[str, Any]
    result_text: str = Field(description="the exact JSON text whose hash was signed")
    attestation: Attestation


def _body_schema(model: type[BaseModel]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


_RESPONSES = {401: {"description": "missing, malformed, expired, replayed or wrong signature"},
              403: {"description": "valid signer without rights to the token now"},
              404: {"description": "unknown token, or not served here"},
              413: {"description": "body over the limit"}, 429: {"description": "queue full or rate limit"}}


def build_app(settings: Settings, *, log=None, max_models: int = 8, max_memory: int | None = None, queue: int = 64,
              timeout_s: float = 30.0, batching: bool = True, address_per_minute: float = 600,
              ip_per_minute: float = 6000):
    import contextlib

    from fastapi.concurrency import run_in_threadpool

    from zoo_cli.chain import signed_requests as sr
    from zoo_cli.errors import ZooError
    from zoo_cli.services.auth import NonceStore, authenticate
    from zoo_cli.services.store import StateDB
    from zoo_cli.workflows.serve import ModelService

    log = log or (lambda *a, **k: None)
    service = ModelService(settings, max_models=max_models, batching=batching,
                           **({} if max_memory is None else {"max_memory": max_memory}))
    state: dict = {"error": None, "queued": 0}
    ready = threading.Event()
    db = StateDB(settings.home / "serve" / "state.db")
    nonces = NonceStore(db)

    def start() -> None:
        log("ready", **service.start())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        start_in_background("serve-start", start, state, ready, log)
        try:
            yield
        finally:
            service.close()
            log("shutdown")
            db.close()

    config = ServiceConfig(
        name="zoo serve", version="1", max_body=MAX_BODY, log=log, address_per_minute=address_per_minute,
        ip_per_minute=ip_per_minute,
        description="An owner's models over HTTP: public metadata, and ask/suggest for the owner, active "
                    "ERC-4907 users and hosted lessees, with EIP-712 signed requests and signed answers "
                    "(docs/serve.md).")
    app = create_app(config, lifespan=lifespan)

    def identity() -> dict:
        if not ready.wait(timeout=60):
            raise ApiError(503, "starting", "the service is starting", "retry in a few seconds", retry_after=2)
        if state["error"] is not None:
            err = state["error"]
            raise ApiError(503, "not_ready", err.message, err.hint or "")
        return service.identity

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True, "ready": ready.is_set() and state["error"] is None,
                "server": service.identity["server"] if service.identity else None,
                "warm_models": service.warm_count(), "warm": service.pool.stats(), "queued": state["queued"]}

    @app.get("/v1/server")
    async def server_info() -> dict:
        """The serving account (answers are signed by it; signed requests name it as
        verifyingContract), the chain id and the contracts."""
        return await run_in_threadpool(identity)

    async def _call(fn, *args):
        try:
            return await run_in_threadpool(fn, *args)
        except ZooError as err:
            raise api_error_from(err) from None

    @app.get("/v1/models")
    async def list_models() -> dict:
        """The tokens the serving account owns: name, owner, generation, stage, performance,
        specialization, listing (public; no signature)."""
        await run_in_threadpool(identity)
        return {"server": service.identity["server"], "models": await _call(service.models)}

    @app.get("/v1/models/{token_id}")
    async def get_model(token_id: int) -> dict:
        """A token's public metadata, lineage, scores, stage and listing; ``served``: answered here."""
        await run_in_threadpool(identity)
        return await _call(service.model, token_id)

    async def answer(request: Request, model: type[BaseModel], run, tokens_of) -> dict:
        body = await request.body()
        ident = await run_in_threadpool(identity)
        h = request.headers
        signer = authenticate(h, method="POST", path=request.url.path, body=body, chain_id=ident["chain_id"],
                              server=ident["server"], nonces=nonces, limiter=app.state.address_limiter, strict=True)
        try:
            parsed = model.model_validate_json(body)
        except ValueError as exc:
            errors = getattr(exc, "errors", list)()
            first = errors[0] if errors else {}
            where = ".".join(str(x) for x in first.get("loc", ()))
            code = "prompt_too_long" if where == "prompt" and first.get("type") == "string_too_long" else "bad_request"
            raise ApiError(400, code, f"invalid request: {where}: {first.get('msg', exc)}".strip(),
                           "see /openapi.json for the request schema") from None
        if state["queued"] >= queue:
            log("busy", signer=signer, queued=state["queued"])
            raise ApiError(429, "busy", f"the inference queue is full ({queue} requests)",
                           "retry after the Retry-After seconds", retry_after=1)
        request_hash = sr.request_digest(chain_id=ident["chain_id"], server=ident["server"], method="POST",
                                         path=request.url.path, body=body, nonce=int(h[sr.HEADER_NONCE]),
                                         expiry=int(h[sr.HEADER_EXPIRY]))

        def work() -> dict:
            result, infos = run(signer, tokens_of(parsed), parsed)
            return service.attest(request_hash, result, infos)

        state["queued"] += 1
        try:
            out = await asyncio.wait_for(_call(work), timeout=timeout_s)
        except TimeoutError:
            log("timeout", signer=signer, path=request.url.path)
            raise ApiError(504, "timeout", f"no answer within {timeout_s:g}s", "retry later") from None
        except ApiError as err:
            log("refused", signer=signer, path=request.url.path, code=err.code)
            raise
        finally:
            state["queued"] -= 1
        log("answered", signer=signer, tokens=out["tokens"], roles=[m["role"] for m in out["members"]])
        return out

    def ask(signer, tokens, p):
        return service.ask(signer, tokens, p.prompt)

    def suggest(signer, tokens, p):
        return service.suggest(signer, tokens, p.task, p.fields)

    @app.post("/v1/models/{token_id}/ask", response_model=Answer, responses=_RESPONSES,
              openapi_extra=_body_schema(AskRequest))
    async def post_ask(token_id: int, request: Request):
        """Ask one model (EIP-712 signed request by the owner or the active user)."""
        return await answer(request, AskRequest, ask, lambda p: [token_id])

    @app.post("/v1/models/{token_id}/suggest", response_model=Answer, responses=_RESPONSES,
              openapi_extra=_body_schema(SuggestRequest))
    async def post_suggest(token_id: int, request: Request):
        """A structured suggestion (yield strategy, next game action, NFT trait sets) as `zoo suggest`."""
        return await answer(request, SuggestRequest, suggest, lambda p: [token_id])

    @app.post("/v1/ensemble/ask", response_model=Answer, responses=_RESPONSES,
              openapi_extra=_body_schema(EnsembleAskRequest))
    async def post_ensemble_ask(request: Request):
        """Ask several models of one base: votes weighted by on-chain performance (each token authorised)."""
        return await answer(request, EnsembleAskRequest, ask, lambda p: list(p.tokens))

    @app.post("/v1/ensemble/suggest", response_model=Answer, responses=_RESPONSES,
              openapi_extra=_body_schema(EnsembleSuggestRequest))
    async def post_ensemble_suggest(request: Request):
        """A structured suggestion from an ensemble."""
        return await answer(request, EnsembleSuggestRequest, suggest, lambda p: list(p.tokens))

    app.state.service = service
    return app


def serve_models(settings: Settings, host: str, port: int, *, log_file: Path | None = None, **options) -> None:
    from zoo_cli.services.http import serve
    from zoo_cli.services.logs import JsonLog

    log = JsonLog(log_file, service="serve")
    try:
        serve(build_app(settings, log=log, **options), host, port, log=log)
    finally:
        log.close()

"""The HTTP foundation: app factory, error format, body-size limit, rate limits, serving.

Every error a service returns has one shape and a stable ``code``::

    HTTP 4xx/5xx  {"error": {"code": "bad_signature", "message": "...", "hint": "..."}}

Handlers raise :class:`ApiError` (or a ``ZooError`` from a workflow, mapped by
:func:`api_error_from`); validation errors, unknown routes, oversized bodies, rate limits and
unexpected exceptions all come out in the same format. FastAPI/uvicorn are imported lazily.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zoo_cli.errors import (
    BackendUnreachable,
    BadInput,
    IntegrityError,
    NotFound,
    PermissionDenied,
    ZooError,
)

#: Default request body limit (bytes): requests are small JSON documents; models travel by CID.
DEFAULT_MAX_BODY = 64 * 1024
# An over-limit body up to this size is read and dropped (never parsed) before the 413: a server
# that closes with unread data makes the kernel reset the connection, and the client (node's fetch)
# may then see "fetch failed" instead of the 413. Bigger bodies get the 413 and the reset.
DRAIN_MAX = 16 * 1024 * 1024


class ApiError(Exception):
    """An HTTP error with a stable machine-readable ``code`` (documented per service)."""

    def __init__(self, status: int, code: str, message: str, hint: str = "", *, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint
        self.retry_after = retry_after  # seconds, sent as Retry-After (429 defaults to 60)

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}


_STATUS_OF: list[tuple[type, int, str]] = [
    (BadInput, 400, "bad_request"),
    (NotFound, 404, "not_found"),
    (PermissionDenied, 403, "forbidden"),
    (BackendUnreachable, 503, "backend_unreachable"),
    (IntegrityError, 422, "integrity_error"),
]


def api_error_from(err: ZooError) -> ApiError:
    """A workflow's ZooError as an ApiError: its ``reason`` and ``status`` (when set) win."""
    status, code = 422, "refused"
    for cls, st, c in _STATUS_OF:
        if isinstance(err, cls):
            status, code = st, c
            break
    return ApiError(getattr(err, "status", None) or status, getattr(err, "reason", None) or code, err.message,
                    err.hint or "")


class RateLimiter:
    """Token buckets per key (client address or IP): ``per_minute`` sustained, ``burst`` at once."""

    def __init__(self, per_minute: float, burst: int | None = None):
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, int(per_minute)))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # bounded memory under address churn
                self._buckets.clear()
            return True

    def check(self, key: str) -> None:
        if not self.allow(key):
            raise ApiError(429, "rate_limited", f"too many requests from {key}", "wait a minute and retry")


@dataclass
class ServiceConfig:
    """What every service shares: identity for logs/OpenAPI, limits and the log sink."""

    name: str
    version: str = "1"
    description: str = ""
    max_body: int = DEFAULT_MAX_BODY
    ip_per_minute: float = 600.0  # every request, signed or not, per client IP
    address_per_minute: float = 60.0  # signed requests, per signer address
    log: Callable[..., None] = field(default=lambda *a, **k: None)


def _json_response(err: ApiError):
    from fastapi.responses import JSONResponse

    retry = err.retry_after if err.retry_after is not None else (60 if err.status == 429 else None)
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


class _BodyLimit:
    """ASGI middleware: refuse bodies over ``max_body`` (declared or streamed) with 413 JSON,
    refuse clients over the per-IP rate, log every request as one JSON line."""

    def __init__(self, app, config: ServiceConfig, ip_limiter: RateLimiter):
        self.app, self.config, self.ip_limiter = app, config, ip_limiter

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.monotonic()
        request_id = uuid.uuid4().hex[:16]
        client = (scope.get("client") or ("?", 0))[0]
        status_seen: dict[str, Any] = {}

        async def send_logged(message):
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", request_id.encode())]
            await send(message)

        async def reply(err: ApiError):
            await _json_response(err)(scope, receive, send_logged)

        try:
            if not self.ip_limiter.allow(client):
                return await reply(ApiError(429, "rate_limited", f"too many requests from {client}",
                                            "wait a minute and retry"))
            declared = dict(scope.get("headers") or []).get(b"content-length")
            limit = self.config.max_body
            if declared is not None:
                try:
                    too_big = int(declared) > limit
                except ValueError:
                    return await reply(ApiError(400, "bad_request", "malformed Content-Length"))
                if too_big:
                    if int(declared) <= DRAIN_MAX:
                        await _drain(receive)
                    return await reply(_too_large(limit))
            received = 0
            over = False
            more = True  # body still to come

            async def limited_receive():
                nonlocal received, over, more
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    more = bool(message.get("more_body"))
                    if received > limit:
                        over = True
                        raise _Oversized()
                return message

            try:
                await self.app(scope, limited_receive, send_logged)
            except _Oversized:
                if "status" not in status_seen:
                    if more:
                        await _drain(receive, received)
                    await reply(_too_large(limit))
        finally:
            self.config.log("request", method=scope.get("method"), path=scope.get("path"), client=client,
                            status=status_seen.get("status"), ms=round((time.monotonic() - started) * 1000, 1),
                            request_id=request_id)


async def _drain(receive, already: int = 0) -> None:
    """Read and drop the rest of a request body, at most DRAIN_MAX bytes in all."""
    got = already
    while got <= DRAIN_MAX:
        message = await receive()
        if message["type"] != "http.request":
            return
        got += len(message.get("body", b""))
        if not message.get("more_body"):
            return


class _Oversized(Exception):
    pass


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"request body over {limit} bytes",
                    "send models by CID, not inline; requests are small JSON documents")


def create_app(config: ServiceConfig, *, lifespan=None):
    """A FastAPI app with the shared error format, limits and logs. Routes are added by the caller.

    ``app.state.address_limiter`` is the per-address limiter for signed routes (see auth.py)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI(title=config.name, version=config.version, description=config.description,
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.config = config
    app.state.address_limiter = RateLimiter(config.address_per_minute)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, err: ApiError):
        return _json_response(err)

    @app.exception_handler(ZooError)
    async def _zoo_error(request: Request, err: ZooError):
        return _json_response(api_error_from(err))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError):
        first = (err.errors() or [{}])[0]
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return _json_response(ApiError(400, "bad_request", f"invalid request: {where}: {first.get('msg', 'invalid')}",
                                       "see /openapi.json for the request schema"))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        return _json_response(ApiError(err.status_code, code, str(err.detail)))

    @app.exception_handler(Exception)
    async def _internal(request: Request, err: Exception):
        config.log("internal_error", level="error", error=f"{type(err).__name__}: {err}", path=request.url.path)
        return _json_response(ApiError(500, "internal_error", "internal error", "the service logged it; retry later"))

    app.add_middleware(_BodyLimit, config=config, ip_limiter=RateLimiter(config.ip_per_minute))
    return app


def start_in_background(name: str, start: Callable[[], None], state: dict, ready: threading.Event,
                        log: Callable[..., None]) -> threading.Thread:
    """Run a service's slow start-up (chain, keystore, published keys…) in a thread, so the
    service binds and answers /openapi.json at once. A failure is kept in ``state["error"]``
    (every request reports it) and logged once; ``ready`` is set either way."""

    def run() -> None:
        try:
            start()
        except ZooError as err:
            state["error"] = err
            log("start_failed", level="error", error=err.message, hint=err.hint)
        except Exception as err:  # noqa: BLE001 - reported by every request, logged once
            state["error"] = ZooError(f"{type(err).__name__}: {err}")
            log("start_failed", level="error", error=str(err))
        finally:
            ready.set()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def serve(app, host: str = "127.0.0.1", port: int = 8080, *, log=None) -> None:
    """Run ``app`` under uvicorn until SIGTERM/SIGINT (graceful: in-flight requests finish,
    the app's lifespan shutdown runs). Binds 127.0.0.1 unless told otherwise."""
    import signal

    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="on", timeout_graceful_shutdown=10)
    server = uvicorn.Server(config)
    got: list[str] = []

    def on_term(signum, _frame):  # uvicorn re-raises the signal it caught after shutting down
        got.append(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, on_term)  # so a SIGTERM'd service exits 0
    if log:
        log("listening", host=host, port=port)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind
        if not server.started:
            raise BackendUnreachable(f"cannot listen on {host}:{port}", hint="pick another --port") from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if log:
        log("stopped", signal=got[0] if got else None)

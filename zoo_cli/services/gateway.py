"""``zoo ipfs serve``: the embedded blockstore's published objects as an IPFS trustless gateway.

Implements the Trustless Gateway spec (https://specs.ipfs.tech/http-gateways/trustless-gateway/):

- ``GET|HEAD /ipfs/{cid}?format=raw`` (or ``Accept: application/vnd.ipld.raw``): one block.
- ``GET|HEAD /ipfs/{cid}[/{path}]?format=car`` (or ``Accept: application/vnd.ipld.car``): a CAR
  v1 stream, ``order=dfs; dups=n`` (``dups=y`` on request), with ``dag-scope=block|entity|all``
  (default ``all``) and ``entity-bytes=from:to``; a path walks UnixFS directories and the
  blocks needed to verify it come first.
- ``GET /ipfs/bafkqaaa``: the probe path (identity CID, empty body).
- A request naming no format is refused (400): the gateway is strict, it never deserialises.

Only **published** objects are served: blocks reachable from a pin that is not marked private
(``EmbeddedStore.mark_private``). Anything else — unpinned blocks, cached blocks fetched
from other gateways, a verifier's evaluation sets — answers 404, the same as a block that
is not there (the gateway never reveals what else the store holds). The gateway never asks
other gateways for what it lacks.

Errors are JSON ``{"error": {"code", "message", "hint"}}`` as in every zoo service; CIDs,
paths and query strings are length-bounded; at most ``MAX_INFLIGHT`` requests are served at
once (503 beyond). FastAPI is imported lazily; nothing here writes to the terminal.
"""

# no `from __future__ import annotations`: FastAPI reads the route signatures' annotations
import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

RAW_TYPE = "application/vnd.ipld.raw"
CAR_TYPE = "application/vnd.ipld.car"
PROBE_CID = "bafkqaaa"  # identity multihash of b"": the spec's probe path
MAX_CID_TEXT = 200
MAX_PATH = 1024
MAX_SEGMENTS = 64
MAX_QUERY = 1024
MAX_INFLIGHT = 32
IMMUTABLE = "public, max-age=29030400, immutable"


class GatewayError(Exception):
    """An HTTP error with a stable code (the JSON error format shared by zoo's services)."""

    def __init__(self, status: int, code: str, message: str, hint: str = ""):
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}


class PublishedIndex:
    """The set of published blocks, recomputed when a pin or private mark changes."""

    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._stamp = None
        self._blocks: set[bytes] = set()

    def blocks(self) -> set[bytes]:
        stamp = self.store.publication_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._blocks = self.store.published_blocks()
                self._stamp = stamp
            return self._blocks

    def has(self, cb: bytes) -> bool:
        return cb in self.blocks()


# -- request parsing ------------------------------------------------------------------------
def _parse_cid(text: str):
    from zoo_cli.errors import BadInput
    from zoo_cli.storage.cids import parse_cid

    if not text or len(text) > MAX_CID_TEXT or not text.isascii() or not text.isalnum():
        raise GatewayError(400, "invalid_cid", "invalid CID in the request path",
                           "request /ipfs/{cid} with a CIDv1 (bafy…/bafk…) or CIDv0 (Qm…)")
    try:
        return parse_cid(text)
    except BadInput:
        raise GatewayError(400, "invalid_cid", f"invalid or unsupported CID {text!r}",
                           "this gateway serves sha2-256 raw and dag-pb CIDs") from None


def negotiate(fmt: str | None, accept: str | None) -> tuple[str, dict]:
    """(``raw`` | ``car``, CAR parameters from Accept) — ``format`` takes precedence."""
    if fmt:
        if fmt not in ("raw", "car"):
            raise GatewayError(400, "unsupported_format", f"format={fmt[:40]!r} is not served here",
                               "use format=raw or format=car (a trustless gateway)")
        params: dict = {}
        if fmt == "car" and accept:
            params = _car_params(accept) or {}
        return fmt, params
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == RAW_TYPE:
            return "raw", {}
        if media == CAR_TYPE:
            return "car", _car_params(part) or {}
    raise GatewayError(400, "format_required",
                       "this is a trustless gateway: ask for a block or a CAR",
                       f"add ?format=raw or ?format=car (or Accept: {RAW_TYPE} / {CAR_TYPE})")


def _car_params(accept: str) -> dict | None:
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if pieces[0].lower() != CAR_TYPE:
            continue
        out = {}
        for p in pieces[1:]:
            k, _, v = p.partition("=")
            out[k.strip().lower()] = v.strip().strip('"')
        return out
    return None


def parse_entity_bytes(text: str) -> tuple[int, int | None]:
    """``from:to`` (inclusive; ``*`` = end; negative = from the end) -> (from, to or None)."""
    frm, sep, to = text.partition(":")
    try:
        if not sep:
            raise ValueError
        a = int(frm)
        b = None if to == "*" else int(to)
    except ValueError:
        raise GatewayError(400, "bad_entity_bytes", f"invalid entity-bytes {text[:40]!r}",
                           "use from:to, e.g. entity-bytes=0:1023 or 0:* or -1024:*") from None
    if b is not None and b >= 0 and a >= 0 and b < a:
        raise GatewayError(400, "bad_entity_bytes", f"entity-bytes {text!r}: to is before from")
    return a, b


# -- DAG walks ----------------------------------------------------------------------------
def _children(block: bytes, cb: bytes) -> list[bytes]:
    from zoo_cli.storage import dagpb
    from zoo_cli.storage.embedded import PB_PREFIX, _cid_bytes

    if cb[:4] != PB_PREFIX:
        return []
    return [_cid_bytes(link.hash) for link in dagpb.decode_node(block).links]


def car_blocks(store, root_cb: bytes, path: list[str], scope: str, byte_range, dups: bool
               ) -> Iterator[tuple[bytes, bytes]]:
    """(binary CID, block) pairs of a CAR response, depth-first: the path's blocks first,
    then the terminal entity's blocks per ``scope`` (``block`` | ``entity`` | ``all``)."""
    from zoo_cli.storage import dagpb
    from zoo_cli.storage.embedded import PB_PREFIX, _cid_bytes

    def read(cb: bytes) -> bytes:  # the gateway never fetches from elsewhere
        return store._read_cb(cb, fetch=False)

    seen: set[bytes] = set()

    def emit(cb: bytes, block: bytes):
        if dups or cb not in seen:
            seen.add(cb)
            yield cb, block

    current = root_cb
    for name in path:  # blocks needed to verify each path segment
        block = read(current)
        yield from emit(current, block)
        if current[:4] != PB_PREFIX:
            return
        node = dagpb.decode_node(block)
        meta = dagpb.decode_unixfs(node.data)
        if meta.type != dagpb.T_DIRECTORY:
            return  # not traversable: the client sees the path end here
        nxt = next((link for link in node.links if link.name == name), None)
        if nxt is None:
            return
        current = _cid_bytes(nxt.hash)

    block = read(current)
    if scope == "block":
        yield from emit(current, block)
        return
    if scope == "entity":
        yield from _entity(read, current, block, byte_range, emit)
        return
    stack = [current]
    while stack:  # dag-scope=all: the whole DAG, depth-first, left to right
        cb = stack.pop()
        if not dups and cb in seen:
            continue
        blk = block if cb == current else read(cb)
        yield from emit(cb, blk)
        stack.extend(reversed(_children(blk, cb)))


def _entity(read: Callable[[bytes], bytes], cb: bytes, block: bytes, byte_range, emit):
    """UnixFS entity: a file's blocks (those covering ``byte_range`` if given), a directory's
    own node, a raw block itself."""
    from zoo_cli.storage import dagpb
    from zoo_cli.storage.embedded import PB_PREFIX, _cid_bytes

    if cb[:4] != PB_PREFIX:
        yield from emit(cb, block)
        return
    node = dagpb.decode_node(block)
    meta = dagpb.decode_unixfs(node.data)
    if meta.type not in (dagpb.T_FILE, dagpb.T_RAW):
        yield from emit(cb, block)  # directories (and others): the node itself
        return
    size = meta.filesize if meta.filesize is not None else len(meta.data or b"")
    lo, hi = 0, size - 1
    if byte_range is not None:
        a, b = byte_range
        lo = a if a >= 0 else max(0, size + a)
        hi = size - 1 if b is None else (b if b >= 0 else size + b)
        hi = min(hi, size - 1)
    yield from emit(cb, block)
    if lo > hi:
        return

    def walk(node_cb: bytes, node_block: bytes, offset: int):
        n = dagpb.decode_node(node_block)
        m = dagpb.decode_unixfs(n.data)
        pos = offset + len(m.data or b"")
        for link, bsize in zip(n.links, m.blocksizes or [None] * len(n.links)):
            kid = _cid_bytes(link.hash)
            span = bsize if bsize is not None else 0
            if bsize is None or (pos <= hi and pos + span - 1 >= lo):
                kid_block = read(kid)
                yield from emit(kid, kid_block)
                if kid[:4] == PB_PREFIX:
                    yield from walk(kid, kid_block, pos)
            pos += span

    yield from walk(cb, block, 0)


# -- the app --------------------------------------------------------------------------------
def create_app(store, *, index: PublishedIndex | None = None, log: Callable[..., None] | None = None):
    """The gateway as a FastAPI app over an :class:`~zoo_cli.storage.embedded.EmbeddedStore`."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response, StreamingResponse
    from multiformats import varint
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from zoo_cli.storage.car import encode_header
    from zoo_cli.storage.embedded import _name

    index = index or PublishedIndex(store)
    log = log or (lambda *a, **k: None)
    inflight = threading.BoundedSemaphore(MAX_INFLIGHT)
    app = FastAPI(title="zoo IPFS trustless gateway", version="1", docs_url=None, redoc_url=None,
                  description="The published objects of a zoo embedded blockstore "
                              "(https://specs.ipfs.tech/http-gateways/trustless-gateway/).")

    def error(err: GatewayError):
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(GatewayError)
    async def _gw(request: Request, err: GatewayError):
        return error(err)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        hint = "this gateway serves GET/HEAD /ipfs/{cid}" if err.status_code in (404, 405) else ""
        return error(GatewayError(err.status_code, code, str(err.detail), hint))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError):
        return error(GatewayError(400, "bad_request", "invalid request", "see /openapi.json"))

    @app.exception_handler(Exception)
    async def _internal(request: Request, err: Exception):
        log("internal_error", error=f"{type(err).__name__}: {err}"[:300], path=request.url.path[:200])
        return error(GatewayError(500, "internal_error", "internal error", "the gateway logged it"))

    @app.middleware("http")
    async def _bounds(request: Request, call_next):
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        if len(raw_path) > MAX_PATH + 200 or len(request.scope.get("query_string") or b"") > MAX_QUERY:
            return error(GatewayError(414, "uri_too_long", "request URI too long"))
        if request.headers.get("content-length") not in (None, "0") or request.headers.get("transfer-encoding"):
            return error(GatewayError(413, "body_not_allowed", "this gateway takes no request bodies"))
        if not inflight.acquire(blocking=False):
            return error(GatewayError(503, "busy", "too many requests in flight", "retry shortly"))
        try:
            response = await call_next(request)
        finally:
            inflight.release()
        log("request", method=request.method, path=request.url.path[:200], status=response.status_code)
        return response

    def handle(request: Request, cid_text: str, path: str, head: bool):
        q = request.query_params
        fmt, car = negotiate(q.get("format"), request.headers.get("accept"))
        if cid_text == PROBE_CID and not path:
            headers = {"Content-Type": RAW_TYPE if fmt == "raw" else CAR_TYPE + "; version=1",
                       "X-Content-Type-Options": "nosniff", "Cache-Control": IMMUTABLE}
            if fmt == "raw":
                return Response(b"", headers=headers)
            body = b"" if head else varint.encode(len(h := encode_header([]))) + h
            return Response(body, headers=headers)
        cid = _parse_cid(cid_text)
        cb = bytes(cid)
        segments = [s for s in path.split("/") if s] if path else []
        if len(path) > MAX_PATH or len(segments) > MAX_SEGMENTS:
            raise GatewayError(414, "path_too_long", "content path too long")
        if not index.has(cb):  # unpublished and absent look the same
            raise GatewayError(404, "not_found", f"{cid} is not published by this gateway",
                               "ask the owner to pin it (`zoo ipfs pin CID`) or try another gateway")
        common = {"X-Content-Type-Options": "nosniff", "Cache-Control": IMMUTABLE,
                  "X-Ipfs-Path": f"/ipfs/{cid}" + (f"/{'/'.join(segments)}" if segments else "")}
        if fmt == "raw":
            if segments:
                raise GatewayError(400, "path_not_allowed", "raw block requests take no content path",
                                   "request /ipfs/{cid}?format=raw, or use format=car for paths")
            etag = f'"{cid}.raw"'
            headers = {**common, "Content-Type": RAW_TYPE, "Etag": etag,
                       "Content-Disposition": f'attachment; filename="{cid}.bin"'}
            if request.headers.get("if-none-match") == etag:
                return Response(status_code=304, headers=headers)
            block = store._read_cb(cb, fetch=False)
            headers["Content-Length"] = str(len(block))
            return Response(b"" if head else block, headers=headers)

        version = q.get("car-version") or car.get("version") or "1"
        if version != "1":
            raise GatewayError(400, "unsupported_car_version", f"CAR version {version[:8]!r} is not served",
                               "this gateway writes CAR v1")
        order = q.get("car-order") or car.get("order") or "dfs"
        if order not in ("dfs", "unk"):
            raise GatewayError(400, "unsupported_car_order", f"CAR order {order[:16]!r} is not served",
                               "this gateway writes order=dfs")
        dups = (q.get("car-dups") or car.get("dups") or "n") == "y"
        scope = q.get("dag-scope") or "all"
        if scope not in ("block", "entity", "all"):
            raise GatewayError(400, "bad_dag_scope", f"invalid dag-scope {scope[:16]!r}", "use block, entity or all")
        byte_range = None
        if q.get("entity-bytes") is not None:
            byte_range = parse_entity_bytes(q["entity-bytes"])
            scope = "entity"
        tag = hashlib.sha256(f"{'/'.join(segments)}|{scope}|{byte_range}|{dups}".encode()).hexdigest()[:12]
        headers = {**common, "Content-Type": f"{CAR_TYPE}; version=1; order=dfs; dups={'y' if dups else 'n'}",
                   "Etag": f'"{cid}.car.{tag}"',
                   "Content-Disposition": f'attachment; filename="{cid}.car"'}
        if head:
            return Response(b"", headers=headers)
        header = encode_header([cid])

        def stream() -> Iterator[bytes]:
            yield varint.encode(len(header)) + header
            try:
                for bcb, block in car_blocks(store, cb, segments, scope, byte_range, dups):
                    yield varint.encode(len(bcb) + len(block)) + bcb + block
            except Exception as err:  # noqa: BLE001 - mid-stream: end the CAR (the client checks it)
                log("car_aborted", cid=_name(cb), error=f"{type(err).__name__}: {err}"[:200])

        return StreamingResponse(stream(), headers=headers)

    @app.get("/ipfs/{cid}")
    def get_block(request: Request, cid: str):
        return handle(request, cid, "", head=False)

    @app.head("/ipfs/{cid}")
    def head_block(request: Request, cid: str):
        return handle(request, cid, "", head=True)

    @app.get("/ipfs/{cid}/{path:path}")
    def get_path(request: Request, cid: str, path: str):
        return handle(request, cid, path, head=False)

    @app.head("/ipfs/{cid}/{path:path}")
    def head_path(request: Request, cid: str, path: str):
        return handle(request, cid, path, head=True)

    return app


def serve(home_ipfs: Path, host: str = "127.0.0.1", port: int = 8080, *,
          log: Callable[..., None] | None = None, ready: Callable[[str, int], None] | None = None) -> str | None:
    """Serve the blockstore at ``home_ipfs`` until SIGTERM or SIGINT; graceful (in-flight requests
    finish). Returns the name of the signal that stopped it."""
    import signal

    import uvicorn

    from zoo_cli.storage.embedded import EmbeddedStore

    store = EmbeddedStore(home_ipfs)  # no gateways: a gateway never fetches on anyone's behalf
    index = PublishedIndex(store)
    index.blocks()  # build the index before accepting requests
    app = create_app(store, index=index, log=log)
    got: list[str] = []

    def on_term(signum, _frame):  # uvicorn re-raises the signal it caught after shutting down
        got.append(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, on_term)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                            lifespan="off", timeout_graceful_shutdown=10, server_header=False)
    server = uvicorn.Server(config)
    if ready is not None:
        original = server.startup

        async def startup(sockets=None):
            await original(sockets=sockets)
            if server.started:
                bound = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
                ready(bound[0], bound[1])

        server.startup = startup
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind
        if not server.started:
            from zoo_cli.errors import BackendUnreachable

            raise BackendUnreachable(f"cannot listen on {host}:{port}",
                                     hint="pick another --port (or --port 0 for any free port)") from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        store.close()
    return got[0] if got else None

"""Kubo RPC backend (``--ipfs /ip4/H/tcp/P`` or ``http://H:P``) through ipfshttpclient.

The client is constructed directly (not with ``ipfshttpclient.connect()``, whose version check
refuses every Kubo newer than 0.8). Files are added with ``cid-version=1, raw-leaves`` so the
CIDs equal the embedded blockstore's; reads go block by block (``block/get``) and every block
is hash-verified locally, so a faulty node cannot feed wrong bytes. Every call has a timeout
(an offline node asked for an unknown CID waits forever) and failures map to
:class:`BackendUnreachable` (exit 5), except "not found"-style answers (exit 3).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlparse

from multiformats import CID

from zoo_cli.errors import BackendUnreachable, BadInput, NotFound
from zoo_cli.storage.backend import DirEntries, StorageBackend
from zoo_cli.storage.cids import CidLike, parse_cid, verify_block
from zoo_cli.storage.unixfs import directory_node

DEFAULT_TIMEOUT = 30.0
HAS_TIMEOUT = 3.0


def to_multiaddr(addr: str) -> str:
    """``/ip4/H/tcp/P`` (``/http`` appended) or ``http://H:P`` -> an ipfshttpclient multiaddr."""
    addr = addr.strip()
    if addr.startswith("/"):
        parts = addr.rstrip("/").split("/")
        if len(parts) < 5 or parts[1] not in ("ip4", "ip6", "dns", "dns4", "dns6") or parts[3] != "tcp":
            raise BadInput(f"invalid IPFS API address {addr!r}", hint="use /ip4/127.0.0.1/tcp/5001 or http://127.0.0.1:5001")
        return addr if parts[-1] in ("http", "https") else addr.rstrip("/") + "/http"
    url = urlparse(addr)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise BadInput(f"invalid IPFS API address {addr!r}", hint="use /ip4/127.0.0.1/tcp/5001 or http://127.0.0.1:5001")
    host = url.hostname
    proto = "ip6" if ":" in host else ("ip4" if host.replace(".", "").isdigit() else "dns")
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"/{proto}/{host}/tcp/{port}/{url.scheme}"


class _IterReader(io.RawIOBase):
    """A read()-able file over an iterator of byte chunks (streams uploads, constant memory)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._it = iter(chunks)
        self._buf = b""
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                piece = next(self._it)
            except StopIteration:
                break
            self.size += len(piece)
            self._buf += piece
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


class KuboStore(StorageBackend):
    kind = "ipfs"

    def __init__(self, addr: str, *, timeout: float = DEFAULT_TIMEOUT):
        import ipfshttpclient

        self.addr = addr
        self.timeout = timeout
        self._exc = ipfshttpclient.exceptions
        self.client = ipfshttpclient.Client(to_multiaddr(addr), timeout=timeout)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: BLE001, S110 (closing is best effort)
            pass

    def _call(self, what: str, fn, *args, **kwargs):
        exc = self._exc
        try:
            return fn(*args, **kwargs)
        except exc.TimeoutError:
            raise BackendUnreachable(
                f"IPFS node at {self.addr} did not answer within {kwargs.get('timeout', self.timeout)} s ({what})",
                hint="check that the node is running and has the data (an offline node waits "
                "forever for unknown blocks); or drop --ipfs to use the embedded blockstore",
            ) from None
        except exc.ConnectionError:
            raise BackendUnreachable(
                f"cannot reach the IPFS node at {self.addr} ({what})",
                hint="start it (`ipfs daemon`) or drop --ipfs to use the embedded blockstore",
            ) from None
        except exc.ErrorResponse as err:
            text = str(err)
            if "not pinned" in text or "not found" in text.lower():
                raise NotFound(f"IPFS node at {self.addr}: {text} ({what})") from None
            raise BackendUnreachable(f"IPFS node at {self.addr} refused {what}: {text}") from None
        except exc.Error as err:
            raise BackendUnreachable(f"IPFS node at {self.addr} failed {what}: {err}") from None

    _ADD_OPTS: ClassVar[dict] = {"cid_version": 1, "raw_leaves": True, "opts": {"cid-base": "base32"}}

    def add_stream(self, chunks: Iterable[bytes], *, pin: bool = True) -> tuple[CID, int]:
        reader = _IterReader(chunks)
        res = self._call("add", self.client.add, reader, pin=pin, **self._ADD_OPTS)
        if isinstance(res, list):
            res = res[-1]
        return parse_cid(res["Hash"]), reader.size

    def add_directory(self, entries: DirEntries, *, pin: bool = True) -> CID:
        # The directory node is built locally (same encoder as the embedded store) and put as
        # a block: multipart directory uploads are not understood alike by every node
        # (js-ipfs rejects ipfshttpclient's), while file adds and block/put are.
        cid, _ = self._add_tree(entries)
        if pin:
            self.pin(cid)
        return cid

    def _add_tree(self, entries: DirEntries) -> tuple[CID, int]:
        links: dict[str, tuple[CID, int]] = {}
        for name, value in entries.items():
            if isinstance(value, dict):
                links[name] = self._add_tree(value)
            elif isinstance(value, Path) and value.is_dir():
                links[name] = self._add_tree({p.name: p for p in value.iterdir()})
            else:
                data = value.read_bytes() if isinstance(value, Path) else bytes(value)
                res = self._call("add", self.client.add, io.BytesIO(data), pin=False, **self._ADD_OPTS)
                res = res[-1] if isinstance(res, list) else res
                links[name] = (parse_cid(res["Hash"]), int(res["Size"]))
        cid, block, tsize = directory_node(links)
        self.put_block(cid, block)
        return cid, tsize

    def put_block(self, cid: CID, block: bytes) -> None:
        cid = parse_cid(cid)
        verify_block(cid, block)
        res = self._call(
            "block/put", self.client.block.put, io.BytesIO(block),
            opts={"cid-codec": cid.codec.name, "format": cid.codec.name, "mhtype": "sha2-256", "version": 1},
        )
        got = parse_cid(res["Key"])
        if got.raw_digest != cid.raw_digest:
            raise BackendUnreachable(f"IPFS node at {self.addr} stored {cid} under {got}")

    def get_block(self, cid: CidLike) -> bytes:
        cid = parse_cid(cid)
        return verify_block(cid, self._call(f"block/get {cid}", self.client.block.get, str(cid)))

    def has(self, cid: CidLike) -> bool:
        try:
            self._call("block/stat", self.client.block.stat, str(parse_cid(cid)), timeout=HAS_TIMEOUT)
            return True
        except (BackendUnreachable, NotFound):
            return False

    def pin(self, cid: CidLike) -> None:
        self._call("pin/add", self.client.pin.add, str(parse_cid(cid)))

    def unpin(self, cid: CidLike) -> None:
        self._call("pin/rm", self.client.pin.rm, str(parse_cid(cid)))

    def pins(self) -> list[CID]:
        res = self._call("pin/ls", self.client.pin.ls, type="recursive")
        return sorted((parse_cid(k) for k in (res.get("Keys") or {})), key=str)

    def gc(self) -> int:
        res = self._call("repo/gc", self.client.repo.gc, quiet=True)
        return len(res) if isinstance(res, list) else 0

    def _get_blocks(self, cids: Iterable[CID]) -> Iterator[bytes]:
        for cid in cids:
            yield self.get_block(cid)


"""Fetching blocks from IPFS trustless gateways (``--gateway URL``, ``gateways`` in config.toml).

A trustless gateway (https://specs.ipfs.tech/http-gateways/trustless-gateway/) serves
``GET /ipfs/{cid}?format=raw`` (``Accept: application/vnd.ipld.raw``): the block's bytes.
Nothing it says is trusted: every block is checked against the sha2-256 digest in its CID.
A gateway that answers with other bytes (lying, or corrupt) is skipped for the rest of the
run and the next one is asked; one that lacks the block (404), times out or cannot be
reached is skipped for that block. When no gateway has it, the error names each one and
what it answered.
"""

from __future__ import annotations

import hashlib
import threading

from multiformats import CID

from zoo_cli.errors import NotFound

#: Largest block accepted (Kubo's limit for a block is 2 MiB; zoo's are at most 256 KiB + framing).
MAX_BLOCK = 2 * 1024 * 1024
TIMEOUT_S = 20.0
RAW = "application/vnd.ipld.raw"


class GatewayClient:
    """Ask gateways, in order, for blocks; thread-safe (reads prefetch from a thread pool)."""

    def __init__(self, urls: list[str], *, timeout: float = TIMEOUT_S):
        self.urls = [u.rstrip("/") for u in urls]
        self.timeout = timeout
        self.liars: set[str] = set()  # gateways caught sending wrong bytes: not asked again
        self._lock = threading.Lock()
        self._client = None

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(timeout=self.timeout, follow_redirects=False,
                                            headers={"Accept": RAW, "User-Agent": "zoo-cli"})
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _get(self, url: str, cid: CID) -> tuple[bytes | None, str]:
        """(block, "") or (None, why not)."""
        import httpx

        try:
            with self.client.stream("GET", f"{url}/ipfs/{cid}", params={"format": "raw"}) as resp:
                if resp.status_code == 404:
                    return None, "not found"
                if resp.status_code != 200:
                    return None, f"HTTP {resp.status_code}"
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BLOCK:
                        return None, f"answered more than {MAX_BLOCK} bytes"
                return bytes(body), ""
        except httpx.TimeoutException:
            return None, f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as err:
            return None, f"unreachable ({type(err).__name__})"

    def fetch_block(self, cid: CID) -> bytes:
        """The block of ``cid`` from the first gateway that has it with the right hash."""
        tried: list[str] = []
        for url in self.urls:
            if url in self.liars:
                tried.append(f"{url} (skipped: sent wrong bytes before)")
                continue
            block, why = self._get(url, cid)
            if block is None:
                tried.append(f"{url} ({why})")
                continue
            if hashlib.sha256(block).digest() != cid.raw_digest:
                with self._lock:
                    self.liars.add(url)
                tried.append(f"{url} (wrong bytes: hash mismatch)")
                continue
            return block
        raise NotFound(
            f"block {cid} is not in the local blockstore and no gateway served it: " + "; ".join(tried)
            if tried else f"block {cid} is not in the local blockstore",
            hint="check --gateway / `gateways` in config.toml (the owner runs `zoo ipfs serve`), "
                 "or import it with `zoo ipfs car import FILE`",
        )

"""Checking EIP-712 signed requests (format in chain/signed_requests.py) with persistent nonces.

``authenticate`` refuses, each with its own stable error code: missing headers
(``unsigned``), malformed fields (``bad_request``), an expired request (``expired``), an
expiry too far ahead (``expiry_too_far``), a signature that does not recover to the claimed
address (``bad_signature``), a nonce already used by that address (``replay``) and a signer
over its rate (``rate_limited``). Nonces are stored until their expiry (after which the
request is refused as expired anyway), so a replay is refused after a restart too.

With ``strict=True`` (the model API) every refusal but the rate limit is ``401`` — a request
without a valid, fresh, single-use signature gets 401 whatever else is wrong with it — and
keeps its code; the verifier keeps its historical 400/409 statuses.
"""

from __future__ import annotations

import time

from zoo_cli.chain import signed_requests as sr
from zoo_cli.services.http import ApiError, RateLimiter
from zoo_cli.services.store import StateDB

#: The longest validity a server accepts: it bounds how long nonces are kept.
MAX_TTL_S = 3600


class NonceStore:
    """Seen (address, nonce) pairs, persisted until their expiry."""

    def __init__(self, db: StateDB):
        self.db = db

    def use(self, address: str, nonce: int, expiry: int, now: float | None = None) -> bool:
        """Record a nonce; False when it was seen before (a replay)."""
        import sqlite3

        now = int(now if now is not None else time.time())
        self.db.execute("DELETE FROM nonces WHERE expiry < ?", (now,))
        try:
            self.db.execute("INSERT INTO nonces(address, nonce, expiry) VALUES (?,?,?)",
                            (address.lower(), str(nonce), int(expiry)))
        except sqlite3.IntegrityError:
            return False
        return True


def authenticate(headers, *, method: str, path: str, body: bytes, chain_id: int, server: str, nonces: NonceStore,
                 limiter: RateLimiter | None = None, now: float | None = None, max_ttl: int = MAX_TTL_S,
                 strict: bool = False) -> str:
    """The checksummed address that signed this request, or an ApiError (401 for every
    signature problem when ``strict``)."""
    try:
        return _authenticate(headers, method=method, path=path, body=body, chain_id=chain_id, server=server,
                             nonces=nonces, limiter=limiter, now=now, max_ttl=max_ttl)
    except ApiError as err:
        if strict and err.status not in (401, 429):
            err.status = 401
        raise


def _authenticate(headers, *, method: str, path: str, body: bytes, chain_id: int, server: str, nonces: NonceStore,
                  limiter: RateLimiter | None, now: float | None, max_ttl: int) -> str:
    get = headers.get
    missing = [h for h in (sr.HEADER_ADDRESS, sr.HEADER_NONCE, sr.HEADER_EXPIRY, sr.HEADER_SIGNATURE) if not get(h)]
    if missing:
        raise ApiError(401, "unsigned", f"missing {', '.join(missing)}",
                       "sign the request (EIP-712 ServiceRequest, docs/verifier.md)")
    try:
        claimed = str(get(sr.HEADER_ADDRESS))
        nonce = int(get(sr.HEADER_NONCE))
        expiry = int(get(sr.HEADER_EXPIRY))
        if not (0 <= nonce < 2**256 and 0 <= expiry < 2**63):
            raise ValueError("out of range")
        from eth_utils import is_address, to_checksum_address

        if not is_address(claimed):
            raise ValueError("not an address")
        claimed = to_checksum_address(claimed)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "bad_request", f"malformed signing headers: {exc}") from None
    t = int(now if now is not None else time.time())
    if expiry < t:
        raise ApiError(401, "expired", f"the request expired at {expiry} (now {t})", "sign a fresh request")
    if expiry > t + max_ttl:
        raise ApiError(400, "expiry_too_far", f"expiry more than {max_ttl}s ahead", f"use a ttl ≤ {max_ttl}s")
    try:
        signer = sr.recover_signer(chain_id=chain_id, server=server, method=method, path=path, body=body,
                                   nonce=nonce, expiry=expiry, signature=str(get(sr.HEADER_SIGNATURE)))
    except Exception:  # noqa: BLE001 - any malformed signature is the same refusal
        signer = None
    if signer is None or signer.lower() != claimed.lower():
        raise ApiError(401, "bad_signature", "the signature does not match the request and address",
                       "sign method, path, body hash, nonce and expiry for this server and chain id")
    if limiter is not None:
        limiter.check(signer)
    if not nonces.use(signer, nonce, expiry, now=t):
        raise ApiError(409, "replay", "this request (nonce) was already used", "sign a fresh request")
    return signer

"""The owner's side of a remote verifier (`--verifier-url`, ``verifier_url``, ``ZOO_VERIFIER_URL``).

A URL alone is never trusted: :func:`connect` asks the service who it is, then checks on
the owner's own chain connection that the address holds the VERIFIER role on *this*
deployment and has published encryption keys; content keys are wrapped to those
KeyRegistry keys only. Signed reports and proofs that come back are checked (signer and
fields) before anything is sent on-chain. httpx is imported lazily.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from zoo_cli.errors import BackendUnreachable, OperationFailed, PermissionDenied, VerificationFailed
from zoo_cli.workflows.session import Session

POLL_S = 0.5
WAIT_S = 1800.0
RESUME_HINT = "rerun the same command to resume: the new generation is kept in the journal"


@dataclass(frozen=True)
class RemoteVerifier:
    url: str
    address: str
    bundle: bytes
    chain_id: int


def _http(url: str, method: str, path: str, *, body: bytes | None = None, headers: dict | None = None,
          timeout: float = 30.0) -> tuple[int, dict]:
    import httpx

    try:
        resp = httpx.request(method, url.rstrip("/") + path, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise BackendUnreachable(f"verifier at {url} unreachable: {type(exc).__name__}", hint=RESUME_HINT) from None
    try:
        data = resp.json()
    except ValueError:
        raise BackendUnreachable(f"verifier at {url} answered HTTP {resp.status_code} without JSON",
                                 hint=RESUME_HINT) from None
    return resp.status_code, data


def _refused(url: str, status: int, data: dict) -> Exception:
    err = (data or {}).get("error") or {}
    code, message, hint = err.get("code", f"http_{status}"), err.get("message", ""), err.get("hint", "")
    text = f"verifier at {url} refused ({code}): {message}"
    if status in (401, 403):
        return PermissionDenied(text, hint=hint or RESUME_HINT)
    if status >= 500 or status == 429:
        return BackendUnreachable(text, hint=hint or RESUME_HINT)
    return OperationFailed(text, hint=hint or RESUME_HINT)


def connect(s: Session, url: str) -> RemoteVerifier:
    """The service's verifier, checked on-chain (VERIFIER role, same deployment, keys published)."""
    from zoo_cli.workflows.keys import bundle_from_registry
    from zoo_cli.workflows.reports import has_verifier_role

    status, info = _http(url, "GET", "/v1/verifier")
    if status != 200:
        raise _refused(url, status, info)
    try:
        from eth_utils import to_checksum_address

        address = to_checksum_address(info["verifier"])
        chain_id = int(info["chain_id"])
    except (KeyError, TypeError, ValueError):
        raise OperationFailed(f"{url} did not say which verifier it is", hint="check the URL") from None
    if chain_id != s.client.chain_id or str(info.get("nft", "")).lower() != s.nft.address.lower():
        raise PermissionDenied(f"the verifier at {url} serves another deployment (chain id {chain_id}, "
                               f"NFT {info.get('nft')})", hint="use a verifier of this network")
    if not has_verifier_role(s, address):
        raise PermissionDenied(f"{address} (the verifier at {url}) does not hold the VERIFIER role on this deployment",
                               hint="use a verifier the deployment trusts, or train with --self-attest")
    bundle = bundle_from_registry(s, address)
    if bundle is None:
        raise PermissionDenied(f"the verifier {address} has published no encryption keys",
                               hint="the verifier publishes them when `zoo verifier serve` starts")
    return RemoteVerifier(url, address, bundle, chain_id)


def submit_and_wait(s: Session, rv: RemoteVerifier, path: str, body: dict, progress=None) -> dict:
    """POST a signed request, then poll the job until it finishes; the job's result."""
    from zoo_cli.chain.signed_requests import sign_request

    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    auth = sign_request(s.signer, chain_id=rv.chain_id, server=rv.address, method="POST", path=path, body=raw)
    status, job = _http(rv.url, "POST", path, body=raw,
                        headers={"Content-Type": "application/json", **auth.headers()})
    if status not in (200, 202):
        raise _refused(rv.url, status, job)
    started = time.monotonic()
    while job.get("state") in ("queued", "running"):
        if time.monotonic() - started > WAIT_S:
            raise BackendUnreachable(f"the verifier's job {job.get('id')} did not finish in {WAIT_S:.0f}s",
                                     hint=RESUME_HINT)
        if progress:
            progress(time.monotonic() - started, None, {"job": job.get("id"), "state": job.get("state")})
        time.sleep(POLL_S)
        status, job = _http(rv.url, "GET", f"{path}/{job['id']}")
        if status != 200:
            raise _refused(rv.url, status, job)
    if job.get("state") != "done":
        err = job.get("error") or {}
        raise OperationFailed(f"verifier at {rv.url} refused ({err.get('code')}): {err.get('message')}",
                              hint=err.get("hint") or RESUME_HINT)
    return job["result"]


def check_report(s: Session, rv: RemoteVerifier, result: dict, expected: dict) -> None:
    """The returned report is signed by the verifier and says what was asked."""
    from zoo_cli.workflows.reports import report_signer

    report = result["report"]
    for key, want in expected.items():
        if str(report.get(key)).lower() != str(want).lower():
            raise VerificationFailed(f"the verifier's report has {key}={report.get(key)}, expected {want}",
                                     hint="use another verifier")
    try:
        signer = report_signer(s, report, result["signature"])
    except (ValueError, TypeError, KeyError) as exc:
        raise VerificationFailed(f"the verifier's report cannot be checked: {exc}", hint="use another verifier") from exc
    if signer.lower() != rv.address.lower():
        raise VerificationFailed(f"the report is signed by {signer}, not the verifier {rv.address}",
                                 hint="use another verifier")

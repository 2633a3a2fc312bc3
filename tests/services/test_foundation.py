"""The HTTP foundation (zoo_cli/services): request signing, persisted nonces, limits, jobs, errors."""

from __future__ import annotations

import time

import pytest
from eth_account import Account
from fastapi import Request

from zoo_cli.chain.signed_requests import sign_request
from zoo_cli.services.auth import NonceStore, authenticate
from zoo_cli.services.http import ApiError, RateLimiter, ServiceConfig, create_app
from zoo_cli.services.jobs import JobRunner, JobStore, LocalProcessExecutor
from zoo_cli.services.store import StateDB

OWNER = Account.from_key("0x" + "11" * 32)
OTHER = Account.from_key("0x" + "22" * 32)
SERVER = Account.from_key("0x" + "33" * 32).address
BODY = b'{"token_id":1}'


@pytest.fixture
def db(tmp_path):
    d = StateDB(tmp_path / "state.db")
    yield d
    d.close()


def _auth(db, headers, *, body=BODY, chain_id=31337, server=SERVER, path="/v1/evaluations", now=None):
    return authenticate(headers, method="POST", path=path, body=body, chain_id=chain_id, server=server,
                        nonces=NonceStore(db), now=now)


def _signed(account=OWNER, **kw):
    args = {"chain_id": 31337, "server": SERVER, "method": "POST", "path": "/v1/evaluations", "body": BODY}
    args.update(kw)
    return sign_request(account, **args).headers()


def _code(fn) -> str:
    with pytest.raises(ApiError) as info:
        fn()
    return info.value.code


def test_signed_request_recovers_the_signer(db):
    assert _auth(db, _signed()) == OWNER.address


def test_signature_binds_body_path_chain_server_and_address(db):
    assert _code(lambda: _auth(db, _signed(), body=b'{"token_id":2}')) == "bad_signature"
    assert _code(lambda: _auth(db, _signed(), path="/v1/specializations")) == "bad_signature"
    assert _code(lambda: _auth(db, _signed(), chain_id=1)) == "bad_signature"
    assert _code(lambda: _auth(db, _signed(), server=OTHER.address)) == "bad_signature"
    claimed = {**_signed(OTHER), "X-Zoo-Address": OWNER.address}  # OTHER signs, claims to be OWNER
    assert _code(lambda: _auth(db, claimed)) == "bad_signature"
    garbage = {**_signed(), "X-Zoo-Signature": "0x" + "ab" * 65}
    assert _code(lambda: _auth(db, garbage)) == "bad_signature"
    assert _code(lambda: _auth(db, {**_signed(), "X-Zoo-Signature": "0xzz"})) == "bad_signature"


def test_missing_malformed_expired_and_far_expiry(db):
    assert _code(lambda: _auth(db, {})) == "unsigned"
    assert _code(lambda: _auth(db, {**_signed(), "X-Zoo-Nonce": "x"})) == "bad_request"
    assert _code(lambda: _auth(db, {**_signed(), "X-Zoo-Address": "0x12"})) == "bad_request"
    old = _signed(ttl_s=10, now=time.time() - 100)
    assert _code(lambda: _auth(db, old)) == "expired"
    far = _signed(ttl_s=10 * 86_400)
    assert _code(lambda: _auth(db, far)) == "expiry_too_far"


def test_replay_is_refused_even_after_a_restart(tmp_path):
    headers = _signed()
    first = StateDB(tmp_path / "s.db")
    assert _auth(first, headers) == OWNER.address
    assert _code(lambda: _auth(first, headers)) == "replay"
    first.close()
    again = StateDB(tmp_path / "s.db")  # a restarted service
    assert _code(lambda: _auth(again, headers)) == "replay"
    assert _auth(again, _signed()) == OWNER.address  # a fresh nonce is fine
    again.close()


def test_expired_nonces_are_pruned(db):
    store = NonceStore(db)
    assert store.use(OWNER.address, 7, expiry=100, now=50)
    assert not store.use(OWNER.address, 7, expiry=100, now=60)
    assert store.use(OWNER.address, 8, expiry=10_000, now=200)  # prunes nonce 7 (expired)
    assert db.query("SELECT nonce FROM nonces") == [("8",)]


def test_rate_limiter_refuses_over_the_burst_and_refills():
    lim = RateLimiter(per_minute=6000, burst=3)
    assert [lim.allow("a") for _ in range(4)] == [True, True, True, False]
    assert lim.allow("b")  # per key
    time.sleep(0.05)  # 100/s refill
    assert lim.allow("a")
    slow = RateLimiter(per_minute=1, burst=1)
    slow.check("x")
    with pytest.raises(ApiError) as info:
        slow.check("x")
    assert info.value.status == 429 and info.value.code == "rate_limited"


def test_job_store_is_idempotent_and_finishes_once(db):
    store = JobStore(db)
    job, created = store.create("evaluation", {"a": 1}, OWNER.address, {"p": 1})
    again, created_again = store.create("evaluation", {"a": 1}, OWNER.address, {"p": 2})
    assert created and not created_again and again.id == job.id and again.payload == {"p": 1}
    store.start(job.id)
    assert [j.id for j in store.unfinished()] == [job.id]  # what a restart resumes
    assert store.finish(job.id, {"ok": True}, None)
    assert not store.finish(job.id, {"ok": False}, None)  # a second completion is not recorded
    done = store.get(job.id)
    assert done.state == "done" and done.result == {"ok": True} and done.completions == 1
    assert store.unfinished() == []


def double(payload: dict) -> dict:
    """A job task for the executor test."""
    if payload.get("fail"):
        from zoo_cli.errors import BadInput

        raise BadInput("refused on purpose")
    return {"twice": payload["n"] * 2}


def test_local_process_executor_runs_and_records_jobs(db):
    store = JobStore(db)
    runner = JobRunner(store, LocalProcessExecutor(1), {"double": "tests.services.test_foundation:double"})
    ok, _ = runner.accept("double", {"n": 21}, OWNER.address, {"n": 21})
    bad, _ = runner.accept("double", {"fail": 1}, OWNER.address, {"fail": 1})
    deadline = time.monotonic() + 120
    while store.unfinished() and time.monotonic() < deadline:
        time.sleep(0.1)
    runner.executor.shutdown()
    assert store.get(ok.id).result == {"twice": 42}
    failed = store.get(bad.id)
    assert failed.state == "failed" and failed.error["code"] == "BadInput" and "on purpose" in failed.error["message"]


def test_app_errors_are_one_json_shape():
    from fastapi.testclient import TestClient

    app = create_app(ServiceConfig(name="t", max_body=100))

    @app.post("/echo")
    async def echo(n: int) -> dict:
        if n < 0:
            raise ApiError(409, "negative", "n is negative", "pass n >= 0")
        return {"n": n}

    @app.post("/read")
    async def read(request: Request) -> dict:
        return {"size": len(await request.body())}

    with TestClient(app) as client:
        assert client.post("/echo?n=3").json() == {"n": 3}
        r = client.post("/echo?n=-1")
        assert r.status_code == 409 and r.json() == {"error": {"code": "negative", "message": "n is negative",
                                                               "hint": "pass n >= 0"}}
        r = client.post("/echo?n=1", content=b"x" * 101)
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
        assert client.post("/read", content=iter([b"x" * 60, b"x" * 30])).json() == {"size": 90}
        r = client.post("/read", content=iter([b"x" * 60, b"x" * 60]))  # chunked: no Content-Length
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
        r = client.post("/echo?n=abc")
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_request"
        r = client.get("/nowhere")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert client.get("/openapi.json").status_code == 200

"""The model API's building blocks: strict (all-401) request authentication, signed answers,
and the batching warm model (zoo_cli/engine/serving.py)."""

from __future__ import annotations

import threading
import time

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message

from zoo_cli.chain import signed_requests as sr
from zoo_cli.engine.serving import WarmModel
from zoo_cli.services.auth import NonceStore, authenticate
from zoo_cli.services.http import ApiError
from zoo_cli.services.store import StateDB

CALLER = Account.from_key("0x" + "11" * 32)
SERVER = Account.from_key("0x" + "33" * 32)
BODY = b'{"prompt":"pool=ETH/USDC apy=4.2 risk=low ->"}'
PATH = "/v1/models/1/ask"


@pytest.fixture
def nonces(tmp_path):
    db = StateDB(tmp_path / "state.db")
    yield NonceStore(db)
    db.close()


def _signed(**kw):
    args = {"chain_id": 1337, "server": SERVER.address, "method": "POST", "path": PATH, "body": BODY, **kw}
    return sr.sign_request(CALLER, **args).headers()


def _refusal(nonces, headers, *, strict=True, body=BODY) -> tuple[int, str]:
    with pytest.raises(ApiError) as info:
        authenticate(headers, method="POST", path=PATH, body=body, chain_id=1337, server=SERVER.address,
                     nonces=nonces, strict=strict)
    return info.value.status, info.value.code


def test_strict_authentication_is_401_whatever_is_wrong(nonces):
    good = _signed()
    assert authenticate(good, method="POST", path=PATH, body=BODY, chain_id=1337, server=SERVER.address,
                        nonces=nonces, strict=True) == CALLER.address
    assert _refusal(nonces, good) == (401, "replay")
    assert _refusal(nonces, {}) == (401, "unsigned")
    assert _refusal(nonces, {**_signed(), "X-Zoo-Nonce": "x"}) == (401, "bad_request")
    assert _refusal(nonces, _signed(ttl_s=10 * 86_400)) == (401, "expiry_too_far")
    assert _refusal(nonces, _signed(ttl_s=1, now=time.time() - 60)) == (401, "expired")
    assert _refusal(nonces, _signed(), body=b"{}") == (401, "bad_signature")
    # the verifier keeps its statuses
    assert _refusal(nonces, good, strict=False) == (409, "replay")


def test_request_digest_is_the_signed_eip712_hash():
    typed = sr._typed(1337, SERVER.address, "POST", PATH, BODY, 7, 99)
    assert sr.request_digest(chain_id=1337, server=SERVER.address, method="POST", path=PATH, body=BODY, nonce=7,
                             expiry=99) == _hash_eip191_message(typed)


def test_answer_signature_binds_result_tokens_and_server():
    msg = sr.answer_message(request_hash=b"\1" * 32, token_ids=[3], generations=[2], model_hashes=[b"\2" * 32],
                            result_text='{"answer":"stake ETH"}', issued_at=1000)
    sig = sr.sign_answer(SERVER, chain_id=1337, message=msg)
    assert sr.recover_answer_signer(chain_id=1337, server=SERVER.address, message=msg, signature=sig) == SERVER.address
    for changed in ({"resultHash": b"\3" * 32}, {"tokenIds": [4]}, {"generations": [1]}, {"requestHash": b"\0" * 32}):
        assert sr.recover_answer_signer(chain_id=1337, server=SERVER.address, message={**msg, **changed},
                                        signature=sig) != SERVER.address
    assert sr.recover_answer_signer(chain_id=1, server=SERVER.address, message=msg, signature=sig) != SERVER.address


class _Recording(WarmModel):
    """A warm model whose forward pass is a slow echo: what the batcher hands it is recorded."""

    def _run(self, prompts):
        self.sizes.append(len(prompts))
        time.sleep(0.05)
        if "boom" in prompts:
            raise ValueError("boom")
        return [p.upper() for p in prompts]


def _concurrent(model, n):
    model.sizes = []
    out: dict[int, list[str]] = {}
    start = threading.Barrier(n)

    def call(i):
        start.wait()
        out[i] = model.answers([f"p{i}a", f"p{i}b"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_concurrent_callers_share_forward_passes_and_get_their_own_answers():
    batched = _Recording(base=None, adapter={}, max_batch=64)
    out = _concurrent(batched, 16)
    assert out == {i: [f"P{i}A", f"P{i}B"] for i in range(16)}
    assert sum(batched.sizes) == 32 and len(batched.sizes) < 8, batched.sizes
    serial = _Recording(base=None, adapter={}, batching=False)
    assert _concurrent(serial, 6) == {i: [f"P{i}A", f"P{i}B"] for i in range(6)}
    assert serial.sizes == [2] * 6


def test_a_failing_round_fails_its_callers_only():
    m = _Recording(base=None, adapter={})
    m.sizes = []
    with pytest.raises(ValueError):
        m.answers(["boom"])
    assert m.answers(["ok"]) == ["OK"]


def test_committed_openapi_document_is_current():
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2] / "tools"))
    import gen_openapi

    assert gen_openapi.TARGET.read_text() == gen_openapi.document(), "run python tools/gen_openapi.py"


def test_warm_models_are_an_lru_keyed_by_token_and_model_hash():
    from zoo_cli.engine.serving import WarmPool
    from zoo_cli.workflows.serve import ModelService

    loads: list[tuple[int, bytes]] = []

    class NoWeights(WarmPool):  # the LRU without loading models (engine/test_serving.py loads real ones)
        def _attach(self, m):
            m.nbytes = 1

    class Counting(ModelService):
        def _load(self, f):
            loads.append((f["token_id"], f["model_hash"]))
            return self.pool.add((f["token_id"], f["model_hash"]), None, {})

    svc = Counting(None, max_models=2)
    svc.pool = NoWeights(max_models=2)

    def facts(t, h=b"\1"):
        return {"token_id": t, "model_hash": h * 32}

    a = svc.warm(facts(1))
    assert svc.warm(facts(1)) is a and len(loads) == 1  # loaded once, then warm
    svc.warm(facts(2))
    svc.warm(facts(1))  # 1 is now the most recently used
    svc.warm(facts(3))  # evicts 2
    assert svc.warm_count() == 2
    svc.warm(facts(1))
    assert len(loads) == 3
    svc.warm(facts(2))
    assert len(loads) == 4  # 2 was dropped and loads again
    newer = svc.warm(facts(2, b"\2"))  # a new generation of token 2 replaces the old one
    assert newer is not svc.warm(facts(1)) and (2, b"\1" * 32) not in svc.pool.warm_keys() and svc.warm_count() == 2

"""EIP-712 signed HTTP requests between zoo parties (owner -> verifier service, and later
clients of the model API and the gateway).

A request is signed over the typed struct::

    ServiceRequest(string method, string path, bytes32 bodyHash, uint256 nonce, uint256 expiry)

in the domain ``{name: "ZooService", version: "1", chainId, verifyingContract: <server address>}``:
the chain id and the server's own address bind a signature to one deployment and one
service, ``bodyHash`` (keccak256 of the exact body bytes) to one body, ``nonce`` makes it
single-use (the server persists seen nonces until their expiry) and ``expiry`` (unix seconds)
bounds how long it may be replayed into a fresh nonce store. The signature travels in the
``X-Zoo-Signature`` header with ``X-Zoo-Address``, ``X-Zoo-Nonce`` and ``X-Zoo-Expiry``.

No web3 here: eth_account only (lazily imported).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

REQUEST_FIELDS = [
    {"name": "method", "type": "string"},
    {"name": "path", "type": "string"},
    {"name": "bodyHash", "type": "bytes32"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]
DOMAIN_NAME = "ZooService"
DOMAIN_VERSION = "1"
HEADER_SIGNATURE = "X-Zoo-Signature"
HEADER_ADDRESS = "X-Zoo-Address"
HEADER_NONCE = "X-Zoo-Nonce"
HEADER_EXPIRY = "X-Zoo-Expiry"
#: A client's default validity window; servers refuse expiries further out than their max.
DEFAULT_TTL_S = 300


@dataclass(frozen=True)
class RequestAuth:
    """The signing fields of one request (what travels in the X-Zoo-* headers)."""

    address: str
    nonce: int
    expiry: int
    signature: str

    def headers(self) -> dict[str, str]:
        return {HEADER_ADDRESS: self.address, HEADER_NONCE: str(self.nonce), HEADER_EXPIRY: str(self.expiry),
                HEADER_SIGNATURE: self.signature}


def body_hash(body: bytes) -> bytes:
    from eth_utils import keccak

    return keccak(body)


def _typed(domain_chain_id: int, server: str, method: str, path: str, body: bytes, nonce: int, expiry: int):
    from eth_account.messages import encode_typed_data

    domain = {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": int(domain_chain_id),
              "verifyingContract": server}
    message = {"method": method.upper(), "path": path, "bodyHash": body_hash(body), "nonce": int(nonce),
               "expiry": int(expiry)}
    return encode_typed_data(domain_data=domain, message_types={"ServiceRequest": REQUEST_FIELDS},
                             message_data=message)


def sign_request(account, *, chain_id: int, server: str, method: str, path: str, body: bytes,
                 ttl_s: int = DEFAULT_TTL_S, now: float | None = None) -> RequestAuth:
    """Sign one request with ``account`` (an eth_account LocalAccount); a fresh random nonce."""
    from eth_account import Account

    nonce = secrets.randbits(128)
    expiry = int(now if now is not None else time.time()) + ttl_s
    signed = Account.sign_message(_typed(chain_id, server, method, path, body, nonce, expiry), private_key=account.key)
    return RequestAuth(account.address, nonce, expiry, "0x" + bytes(signed.signature).hex())


def recover_signer(*, chain_id: int, server: str, method: str, path: str, body: bytes, nonce: int, expiry: int,
                   signature: str) -> str:
    """The address that signed this request (raises ValueError on a malformed signature)."""
    from eth_account import Account

    sig = bytes.fromhex(signature.removeprefix("0x"))
    if len(sig) != 65:
        raise ValueError("a signature is 65 bytes")
    return Account.recover_message(_typed(chain_id, server, method, path, body, nonce, expiry), signature=sig)


# -- signed answers (the model API's attestation) -------------------------------------------------

ANSWER_FIELDS = [
    {"name": "requestHash", "type": "bytes32"},
    {"name": "tokenIds", "type": "uint256[]"},
    {"name": "generations", "type": "uint256[]"},
    {"name": "modelHashes", "type": "bytes32[]"},
    {"name": "resultHash", "type": "bytes32"},
    {"name": "issuedAt", "type": "uint256"},
]


def request_digest(*, chain_id: int, server: str, method: str, path: str, body: bytes, nonce: int,
                   expiry: int) -> bytes:
    """The EIP-712 digest of one ServiceRequest (what the client signed): an answer names the
    request it answers by this digest."""
    from eth_utils import keccak

    signable = _typed(chain_id, server, method, path, body, nonce, expiry)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def _answer_typed(chain_id: int, server: str, message: dict):
    from eth_account.messages import encode_typed_data

    domain = {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": int(chain_id), "verifyingContract": server}
    return encode_typed_data(domain_data=domain, message_types={"ModelAnswer": ANSWER_FIELDS}, message_data=message)


def answer_message(*, request_hash: bytes, token_ids: list[int], generations: list[int], model_hashes: list[bytes],
                   result_text: str, issued_at: int) -> dict:
    """The ModelAnswer struct: ``resultHash`` is keccak256 of the exact UTF-8 ``result_text``."""
    from eth_utils import keccak

    return {"requestHash": bytes(request_hash), "tokenIds": [int(t) for t in token_ids],
            "generations": [int(g) for g in generations], "modelHashes": [bytes(h) for h in model_hashes],
            "resultHash": keccak(result_text.encode()), "issuedAt": int(issued_at)}


def sign_answer(account, *, chain_id: int, message: dict) -> str:
    """The serving account's EIP-712 signature over a ModelAnswer (an attestation by the
    owner that its model gave this result — not a proof of computation)."""
    from eth_account import Account

    signed = Account.sign_message(_answer_typed(chain_id, account.address, message), private_key=account.key)
    return "0x" + bytes(signed.signature).hex()


def recover_answer_signer(*, chain_id: int, server: str, message: dict, signature: str) -> str:
    from eth_account import Account

    return Account.recover_message(_answer_typed(chain_id, server, message),
                                   signature=bytes.fromhex(signature.removeprefix("0x")))

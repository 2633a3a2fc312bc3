"""Hybrid key wrapping: X25519 + ML-KEM-768, combined with HKDF-SHA256.

An account's encryption key pair is derived deterministically from its keystore secret (the
32-byte Ethereum private key) with HKDF-SHA256 (salt "zoo/encryption-keys/v1"): 32 bytes seed
the X25519 key, 64 bytes seed ML-KEM-768 (FIPS 203 ``(d, z)`` seed). The user therefore needs
no extra backup: the keystore alone recovers every model from chain + IPFS. The trade-off,
documented for users: whoever holds the account key can read its models (as they can move its
tokens anyway), and rotating the encryption key means rotating the account.

Public bundle (published in the KeyRegistry contract, or kept in a file for offline use)::

    "ZOOP" | version u8 (1) | X25519 public key (32) | ML-KEM-768 encapsulation key (1184)

Wrapped key (one per recipient)::

    "ZOOW" | version u8 (1) | recipient fingerprint (8) | ephemeral X25519 public key (32)
    | ML-KEM-768 ciphertext (1088) | AES-256-GCM(KEK, nonce 0, content key, AD = all before)

    KEK = HKDF-SHA256(ikm = ss_x25519 | ss_mlkem, salt = "zoo/wrap/v1",
                      info = SHA-256(bundle) | ephemeral public key | ML-KEM ciphertext)

The KEK is bound to both recipient public keys (via the bundle hash) and both ciphertexts, so
the scheme stays secure while either X25519 or ML-KEM-768 holds. Each KEK encrypts one message,
so the fixed nonce is safe.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zoo_cli.errors import BadInput, IntegrityError, PermissionDenied

BUNDLE_MAGIC = b"ZOOP"
WRAP_MAGIC = b"ZOOW"
VERSION = 1
X_PUB = 32
MLKEM_PUB = 1184
MLKEM_CT = 1088
BUNDLE_SIZE = 5 + X_PUB + MLKEM_PUB
WRAPPED_SIZE = 5 + 8 + X_PUB + MLKEM_CT + 32 + 16
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


def _hkdf(length: int, salt: bytes, info: bytes, ikm: bytes) -> bytes:
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def fingerprint(bundle: bytes) -> bytes:
    """8-byte identifier of a public bundle (shown in errors, stored in wrapped keys)."""
    return hashlib.sha256(bundle).digest()[:8]


def _parse_bundle(bundle: bytes) -> tuple[X25519PublicKey, MLKEM768PublicKey]:
    if (
        not isinstance(bundle, (bytes, bytearray))
        or len(bundle) != BUNDLE_SIZE
        or bundle[:4] != BUNDLE_MAGIC
        or bundle[4] != VERSION
    ):
        raise BadInput(
            "not a zoo public encryption key bundle",
            hint="read it from the KeyRegistry contract or `zoo account show`",
        )
    try:
        x = X25519PublicKey.from_public_bytes(bytes(bundle[5 : 5 + X_PUB]))
        m = MLKEM768PublicKey.from_public_bytes(bytes(bundle[5 + X_PUB :]))
    except ValueError as exc:
        raise BadInput(f"invalid public encryption key: {exc}") from None
    return x, m


@dataclass(frozen=True)
class EncryptionKeys:
    """An account's X25519 + ML-KEM-768 key pair (derived, never stored)."""

    x25519: X25519PrivateKey
    mlkem: MLKEM768PrivateKey

    @classmethod
    def derive(cls, private_key_bytes: bytes) -> EncryptionKeys:
        """Derive the pair from a 32-byte account private key (deterministic)."""
        if len(private_key_bytes) != 32:
            raise BadInput("an account private key must be 32 bytes")
        okm = _hkdf(
            96, b"zoo/encryption-keys/v1", b"x25519 (32) | ml-kem-768 seed (64)", bytes(private_key_bytes)
        )
        return cls(X25519PrivateKey.from_private_bytes(okm[:32]), MLKEM768PrivateKey.from_seed_bytes(okm[32:]))

    def public_bundle(self) -> bytes:
        return (
            BUNDLE_MAGIC
            + bytes([VERSION])
            + self.x25519.public_key().public_bytes(*_RAW)
            + self.mlkem.public_key().public_bytes(*_RAW)
        )

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.public_bundle())


def _kek(ss_x: bytes, ss_m: bytes, bundle: bytes, eph: bytes, ct: bytes) -> bytes:
    return _hkdf(32, b"zoo/wrap/v1", hashlib.sha256(bundle).digest() + eph + ct, ss_x + ss_m)


def wrap_key(content_key: bytes, public_bundle: bytes) -> bytes:
    """Wrap a 32-byte content key for the holder of ``public_bundle``."""
    if len(content_key) != 32:
        raise BadInput("a content key must be 32 bytes")
    x_pub, m_pub = _parse_bundle(public_bundle)
    eph = X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes(*_RAW)
    ss_x = eph.exchange(x_pub)
    ss_m, ct = m_pub.encapsulate()
    head = WRAP_MAGIC + bytes([VERSION]) + fingerprint(public_bundle) + eph_pub + ct
    kek = _kek(ss_x, ss_m, public_bundle, eph_pub, ct)
    return head + AESGCM(kek).encrypt(b"\x00" * 12, bytes(content_key), head)


def unwrap_key(wrapped: bytes, keys: EncryptionKeys) -> bytes:
    """Recover the content key; a key wrapped for someone else raises PermissionDenied."""
    if len(wrapped) != WRAPPED_SIZE or wrapped[:4] != WRAP_MAGIC or wrapped[4] != VERSION:
        raise IntegrityError("not a zoo wrapped key (bad size, magic or version)")
    bundle = keys.public_bundle()
    fp = wrapped[5:13]
    if fp != fingerprint(bundle):
        raise PermissionDenied(
            f"this key was wrapped for another recipient (key {fp.hex()}, yours is {fingerprint(bundle).hex()})",
            hint="ask the owner to deliver the key to your account",
        )
    eph_pub = wrapped[13 : 13 + X_PUB]
    ct = wrapped[13 + X_PUB : 13 + X_PUB + MLKEM_CT]
    head = wrapped[: 13 + X_PUB + MLKEM_CT]
    try:
        ss_x = keys.x25519.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        ss_m = keys.mlkem.decapsulate(ct)
        kek = _kek(ss_x, ss_m, bundle, eph_pub, ct)
        return AESGCM(kek).decrypt(b"\x00" * 12, wrapped[len(head) :], head)
    except (InvalidTag, ValueError):
        raise IntegrityError(
            "wrapped key failed authentication (modified or corrupt)",
            hint="ask the owner to deliver the key again",
        ) from None

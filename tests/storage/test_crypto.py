"""Envelope, key wrapping and model containers: round trips on both backends, every tamper case."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo_cli.errors import IntegrityError, PermissionDenied, VerificationFailed
from zoo_cli.storage import envelope
from zoo_cli.storage.container import (
    check_content_key,
    cid_from_digest,
    decrypt_from_storage,
    digest_from_cid,
    encrypt_to_storage,
    key_commitment,
    open_envelope,
    open_model,
    read_manifest,
    seal_model,
    wrap_for,
)
from zoo_cli.storage.envelope import HEADER_SIZE, TAG, decrypt_bytes, encrypt_bytes, new_content_key
from zoo_cli.storage.kem import EncryptionKeys, unwrap_key, wrap_key

OWNER, LESSEE, STRANGER = ("0x" + c * 40 for c in "abc")
KEYS = {a: EncryptionKeys.derive(bytes([i + 1]) * 32) for i, a in enumerate((OWNER, LESSEE, STRANGER))}
CS = 1000  # small chunks make multi-chunk cases cheap


def _no_plaintext(key, blob):
    with pytest.raises(IntegrityError) as err:
        decrypt_bytes(key, blob)
    assert err.value.message
    return err.value.message


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=1500))
def test_envelope_round_trip(data, chunk):
    key = new_content_key()
    blob = encrypt_bytes(key, data, chunk_size=chunk)
    assert decrypt_bytes(key, blob) == data


def test_envelope_tamper_cases():
    key = new_content_key()
    data = os.urandom(3 * CS + 123)
    blob = encrypt_bytes(key, data, chunk_size=CS)
    rec = CS + TAG
    chunks = [blob[HEADER_SIZE + i * rec: HEADER_SIZE + (i + 1) * rec] for i in range(4)]
    header = blob[:HEADER_SIZE]
    assert "truncated" in _no_plaintext(key, blob[: HEADER_SIZE + 3 * rec])     # final chunk dropped
    assert "truncated" in _no_plaintext(key, blob[:HEADER_SIZE])
    _no_plaintext(key, blob[:-1])                                                 # cut inside
    _no_plaintext(key, header + chunks[1] + chunks[0] + chunks[2] + chunks[3])    # reordered
    other = encrypt_bytes(key, os.urandom(len(data)), chunk_size=CS)               # same key, other file
    _no_plaintext(key, header + other[HEADER_SIZE: HEADER_SIZE + rec] + b"".join(chunks[1:]))
    _no_plaintext(key, blob + b"\x00")                                           # appended
    for pos in range(len(header)):                                               # edited header
        edited = bytearray(blob)
        edited[pos] ^= 0x01
        _no_plaintext(key, bytes(edited))
    flipped = bytearray(blob)
    flipped[HEADER_SIZE + 2 * rec + 5] ^= 0x80
    assert "chunk 2" in _no_plaintext(key, bytes(flipped))
    assert "wrong key" in _no_plaintext(new_content_key(), blob)


def test_decrypt_to_file_leaves_nothing_on_error(tmp_path):
    key = new_content_key()
    blob = encrypt_bytes(key, os.urandom(5 * CS), chunk_size=CS)
    out = tmp_path / "plain.bin"
    with pytest.raises(IntegrityError):
        envelope.decrypt_to_file(key, [blob[:-TAG]], out)
    assert list(tmp_path.iterdir()) == []
    envelope.decrypt_to_file(key, [blob], out)
    assert out.stat().st_mode & 0o777 == 0o600


def test_key_derivation_is_deterministic_and_wrapping_hybrid():
    a = EncryptionKeys.derive(b"\x07" * 32)
    assert a.public_bundle() == EncryptionKeys.derive(b"\x07" * 32).public_bundle()
    assert len(a.public_bundle()) == 5 + 32 + 1184
    ck = new_content_key()
    wrapped = wrap_key(ck, a.public_bundle())
    assert wrapped != wrap_key(ck, a.public_bundle())  # fresh ephemeral keys each time
    assert unwrap_key(wrapped, a) == ck
    with pytest.raises(PermissionDenied):
        unwrap_key(wrapped, KEYS[STRANGER])
    for pos in (20, 13 + 32 + 500, len(wrapped) - 1):  # X25519 part, ML-KEM part, sealed key
        bad = bytearray(wrapped)
        bad[pos] ^= 1
        with pytest.raises(IntegrityError):
            unwrap_key(bytes(bad), a)


FILES = {"adapter/adapter_config.json": b'{"r": 8}', "adapter/adapter_model.safetensors": os.urandom(2_500_000)}


def test_model_container_round_trip_and_recovery(backend):
    sealed = seal_model(backend, FILES, {"base_model": "zoo-tiny"},
                        {OWNER: KEYS[OWNER].public_bundle()})
    assert str(sealed.cid).startswith("bafy")
    assert cid_from_digest(sealed.digest32) == sealed.cid and digest_from_cid(sealed.cid) == sealed.digest32
    # recovery from keystore + on-chain digest only
    cid = cid_from_digest(sealed.digest32)
    assert open_model(backend, cid, OWNER, EncryptionKeys.derive(bytes([1]) * 32)) == FILES
    manifest = read_manifest(backend, cid)
    assert manifest["base_model"] == "zoo-tiny" and manifest["payload"]["cipher"] == "AES-256-GCM"
    assert sorted(backend.ls(cid)) == ["keys", "manifest.json", "payload.enc"]
    with pytest.raises(PermissionDenied):
        open_model(backend, cid, STRANGER, KEYS[STRANGER])


def test_lease_envelope_rotation_and_key_check(backend):
    gen1 = seal_model(backend, FILES, {}, {OWNER: KEYS[OWNER].public_bundle()})
    env = wrap_for(backend, gen1.content_key, LESSEE, KEYS[LESSEE].public_bundle(), model_cid=gen1.cid)
    key = open_envelope(backend, env, LESSEE, KEYS[LESSEE])
    assert open_model(backend, gen1.cid, content_key=key) == FILES
    with pytest.raises(PermissionDenied):
        open_envelope(backend, env, STRANGER, KEYS[STRANGER])
    check_content_key(backend, gen1.cid, key, key_commitment(gen1.content_key))
    with pytest.raises(VerificationFailed):
        check_content_key(backend, gen1.cid, new_content_key(), key_commitment(gen1.content_key))
    wrong = new_content_key()
    with pytest.raises(VerificationFailed):  # matches its commitment, but not the ciphertext
        check_content_key(backend, gen1.cid, wrong, key_commitment(wrong))
    # rotation: next generation, fresh key, wrapped for the owner only; the old lessee key fails
    gen2 = seal_model(backend, {**FILES, "policy/policy.json": b"p"}, {}, {OWNER: KEYS[OWNER].public_bundle()})
    assert gen2.content_key != gen1.content_key
    with pytest.raises(IntegrityError):
        open_model(backend, gen2.cid, content_key=key)
    with pytest.raises(PermissionDenied):
        open_model(backend, gen2.cid, LESSEE, KEYS[LESSEE])


def test_key_commitment_is_keccak256():
    assert key_commitment(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_streaming_encrypt_store_decrypt_and_tampered_blocks(store):
    key = new_content_key()
    data = os.urandom(3 * (1 << 20) + 77)
    cid, _ = encrypt_to_storage(store, key, [data[i:i + 65536] for i in range(0, len(data), 65536)])
    assert b"".join(decrypt_from_storage(store, cid, key)) == data
    leaf = max((p for p in store.blocks_dir.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    raw = bytearray(leaf.read_bytes())
    raw[100] ^= 1
    leaf.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        b"".join(decrypt_from_storage(store, cid, key))

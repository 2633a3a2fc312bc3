"""Encryption keys between accounts: KeyRegistry publication and delivered key envelopes."""

from __future__ import annotations

from zoo_cli.chain.zoo import ModelRecord
from zoo_cli.workflows.session import Session

X25519_LEN = 32
BUNDLE_HEADER = 5  # kem.BUNDLE_MAGIC + version byte


def bundle_from_registry(session: Session, address: str) -> bytes | None:
    """The public bundle (X25519 || ML-KEM-768) an account published, or None."""
    keys = session.zoo.published_keys(address)
    if keys is None:
        return None
    x, m = keys.x25519, keys.mlkem768
    from zoo_cli.storage.kem import BUNDLE_MAGIC, VERSION

    return BUNDLE_MAGIC + bytes([VERSION]) + x + m  # the registry stores the raw keys only


def publish_keys(session: Session, journal=None) -> bool:
    """Publish the session account's encryption keys if the registry lacks (or differs from) them."""
    bundle = session.keys.public_bundle()
    current = bundle_from_registry(session, session.address)
    if current == bundle:
        return False
    raw = bundle[BUNDLE_HEADER:]  # drop the bundle's magic + version: the registry takes raw keys
    session.transact(session.zoo.set_keys(raw[:X25519_LEN], raw[X25519_LEN:]), journal=journal, step="keys")
    return True


def delivered_key(session: Session, token_id: int, rec: ModelRecord) -> bytes | None:
    """A content key delivered to the session account through the marketplace for the
    token's current version (KeyDelivered events), checked against the container."""
    from zoo_cli.storage.container import open_envelope

    logs = session.zoo.logs(session.market, "KeyDelivered", tokenId=token_id, buyer=session.address)
    for log in reversed(list(logs)):
        if log["args"]["buyer"].lower() != session.address.lower():
            continue
        try:
            key = open_envelope(session.storage, log["args"]["envelopeRef"], session.address, session.keys)
        except Exception:  # noqa: BLE001, S112 - an envelope for an older generation or a bad one
            continue
        from zoo_cli.storage.container import read_manifest
        from zoo_cli.storage.envelope import key_id
        from zoo_cli.workflows.records import cid_of

        cid = cid_of(rec.model_hash)
        manifest = read_manifest(session.storage, cid)
        if manifest.get("payload", {}).get("key_id") == key_id(key).hex():
            return key
    return granted_key(session, rec)


def granted_key(session: Session, rec: ModelRecord) -> bytes | None:
    """A content key delivered by `zoo lease grant`: the token's public metadata lists
    ``key_envelopes[<address>] = {envelope, generation}`` (no marketplace event exists for
    free grants); the key must match the current container's key id."""
    from zoo_cli.storage.container import open_envelope, read_manifest
    from zoo_cli.storage.envelope import key_id
    from zoo_cli.workflows.records import cid_of, public_metadata

    entry = (public_metadata(session, rec.metadata_uri).get("key_envelopes") or {}).get(session.address.lower())
    cid = cid_of(rec.model_hash)
    if not entry or cid is None:
        return None
    try:
        key = open_envelope(session.storage, entry["envelope"], session.address, session.keys)
    except Exception:  # noqa: BLE001 - a stale or foreign envelope
        return None
    if read_manifest(session.storage, cid).get("payload", {}).get("key_id") == key_id(key).hex():
        return key
    return None

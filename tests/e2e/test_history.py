"""zoo history [--verify]: the ledger, every verification link, and tampering with each."""

from __future__ import annotations

import json
import os

import pytest

LINKS = {"chain", "cid", "blocks", "gcm", "adapter", "ledger", "dataset"}


def checks(data, link, ok=None):
    return [c for c in data["checks"] if c["link"] == link and (ok is None or c["ok"] is ok)]


def test_history_lists_ledger(zoo_env, trained):
    t = trained["token_id"]
    d = zoo_env("history", t).data
    assert set(d) >= {"token_id", "entries", "checks", "ok"}
    assert d["ok"] and d["checks"] == []
    e = d["entries"][0]
    tr = trained["train"]
    assert e["generation"] == 1 and e["model_hash"] == tr["model_hash"]
    assert e["dataset_root"] == tr["dataset_root"] and e["ops"] == tr["ops"]
    assert e["verified"] is True and e["prev_head"] == "0x" + "00" * 32
    show = zoo_env("show", t).data
    assert d["ledger_head"] == show["ledger_head"] == d["entries"][-1]["new_head"]


def test_history_verify_all_links(zoo_env, trained):
    t = trained["token_id"]
    d = zoo_env("history", t, "--verify", "--data", trained["data"]).data
    assert d["ok"], d["checks"]
    assert {c["link"] for c in d["checks"]} == LINKS
    assert all(c["ok"] is True for c in d["checks"])
    human = zoo_env("history", t, "--verify", json_out=False).stdout
    assert "✓" in human and "✗" not in human


def test_history_verify_without_key_skips_decryption(zoo_env, trained):
    d = zoo_env("history", trained["token_id"], "--verify", account="dev2").data
    assert d["ok"]
    assert checks(d, "gcm")[0]["ok"] is None and "skipped (no key)" in checks(d, "gcm")[0]["detail"]
    assert checks(d, "blocks", True)


def test_history_wrong_dataset(zoo_env, trained, tmp_path):
    wrong = tmp_path / "wrong.jsonl"
    zoo_env("data", "synth", "--domain", "defi", "--n", 50, "--seed", 7, "-o", wrong, json_out=False)
    r = zoo_env("history", trained["token_id"], "--verify", "--data", wrong, expect=1)
    assert r.data["ok"] is False
    assert checks(r.data, "dataset", False) and not [c for c in r.data["checks"] if c["ok"] is False and c["link"] != "dataset"]
    assert "✗" in zoo_env("history", trained["token_id"], "--data", wrong, json_out=False, expect=1).stdout


def test_history_unknown_token(zoo_env):
    zoo_env("history", 99999, expect=3)


# -- tampering (embedded backend: the blockstore is a local folder) ---------------------------

@pytest.fixture
def embedded(zoo_env):
    assert zoo_env.backend == "embedded"  # anvil variants are deselected (conftest)
    return zoo_env


def _store(zoo):
    from zoo_cli.storage.embedded import EmbeddedStore

    return EmbeddedStore(zoo.home / "ipfs")


def _payload_leaf(zoo, cid):
    store = _store(zoo)
    leaf_parent = store.resolve(cid, "payload.enc")
    blocks = [c for c, _ in store.walk(leaf_parent)]
    raw = [c for c in blocks if c.codec.name == "raw"]
    return store._path(raw[0] if raw else blocks[0])


@pytest.mark.embedded_only
def test_tamper_flipped_block(embedded, trained):
    f = embedded("fork", trained["token_id"], "--name", "tamper-flip").data
    path = _payload_leaf(embedded, f["cid"])
    original = path.read_bytes()
    os.chmod(path, 0o644)
    try:
        path.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
        r = embedded("history", f["token_id"], "--verify", expect=1)
        assert r.data["ok"] is False
        bad = checks(r.data, "blocks", False)
        assert bad and "corrupt" in bad[0]["detail"]
        assert checks(r.data, "ledger", True)  # the chain itself is intact
    finally:
        path.write_bytes(original)
    assert embedded("history", f["token_id"], "--verify").data["ok"]


@pytest.mark.embedded_only
def test_tamper_deleted_block(embedded, trained):
    f = embedded("fork", trained["token_id"], "--name", "tamper-del").data
    path = _payload_leaf(embedded, f["cid"])
    original = path.read_bytes()
    path.unlink()
    try:
        r = embedded("history", f["token_id"], "--verify", expect=1)
        bad = checks(r.data, "blocks", False)
        assert bad and "missing" in bad[0]["detail"]
    finally:
        path.write_bytes(original)
    assert embedded("history", f["token_id"], "--verify").data["ok"]


def _forge_fork(zoo, parent: int, build) -> int:
    """Fork ``parent`` in-process with a hand-built container (hash-valid, content bad)."""
    from zoo_cli.config import load_settings
    from zoo_cli.storage.container import digest_from_cid
    from zoo_cli.workflows.models import load_adapter, read_record
    from zoo_cli.workflows.session import Session, event_arg

    with Session(load_settings(home=zoo.home, account="dev0")) as s:
        rec = read_record(s, parent)
        files, manifest = load_adapter(s, parent, rec)
        cid = build(s, files, manifest)
        res = s.transact(s.nft.functions.forkModelWithHash(parent, digest_from_cid(cid)))
        return int(event_arg(res, "ModelForked", "newTokenId"))


@pytest.mark.embedded_only
def test_tamper_payload_fails_gcm(embedded, trained):
    from zoo_cli.storage import envelope
    from zoo_cli.storage.container import pack_files
    from zoo_cli.storage.kem import wrap_key

    def build(s, files, manifest):
        key = envelope.new_content_key()
        payload = bytearray(envelope.encrypt_bytes(key, pack_files(files)))
        payload[len(payload) // 2] ^= 0x40  # edited ciphertext, stored as a valid block
        man = {**manifest, "payload": {**manifest["payload"], "key_id": envelope.key_id(key).hex()}}
        return s.storage.add_directory({
            "manifest.json": json.dumps(man, sort_keys=True).encode(),
            "payload.enc": bytes(payload),
            "keys": {s.address.lower(): wrap_key(key, s.keys.public_bundle())},
        })

    token = _forge_fork(embedded, trained["token_id"], build)
    r = embedded("history", token, "--verify", expect=1)
    assert checks(r.data, "blocks", True)  # every block matches its hash ...
    assert checks(r.data, "gcm", False)    # ... but the ciphertext does not authenticate
    assert [c["link"] for c in r.data["checks"] if c["ok"] is False] == ["gcm"]


@pytest.mark.embedded_only
def test_tamper_adapter_that_does_not_load(embedded, trained):
    from zoo_cli.storage.container import seal_model

    def build(s, files, manifest):
        junk = {"adapter/adapter_config.json": b'{"peft_type": "LORA", "r": 4, "target_modules": ["nope"]}',
                "adapter/adapter_model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "}
        man = {k: v for k, v in manifest.items() if k not in ("format", "payload")}
        return seal_model(s.storage, junk, man, {s.address: s.keys.public_bundle()}).cid

    token = _forge_fork(embedded, trained["token_id"], build)
    r = embedded("history", token, "--verify", expect=1)
    assert checks(r.data, "gcm", True)
    assert checks(r.data, "adapter", False)

"""Hostile model containers (issue 13, item 1): a container is written by whoever owned the
token before, so its entry names are attacker input. Each hostile container below is sealed
by the project's own ``seal_model`` (with the write-side check switched off, as an attacker's
modified zoo would) and must be refused on open with "malformed container", writing nothing.
"""

from __future__ import annotations

import pytest

from zoo_cli.errors import IntegrityError
from zoo_cli.fsutil import child_path, write_into
from zoo_cli.storage import container
from zoo_cli.storage.container import open_model, pack_files, seal_model, unpack_files
from zoo_cli.storage.embedded import EmbeddedStore
from zoo_cli.storage.kem import EncryptionKeys

OWNER = "0x" + "ab" * 20
KEYS = EncryptionKeys.derive(b"\x01" * 32)
GOOD = {"adapter/adapter_config.json": b"{}", "adapter/adapter_model.safetensors": b"w",
        "policy/policy.json": b"{}", "policy/policy.safetensors": b"p"}


@pytest.fixture
def backend(tmp_path):
    return EmbeddedStore(tmp_path / "ipfs")


def _hostile_seal(backend, monkeypatch, files):
    """seal_model with the format check off: what an attacker's own build would store."""
    with monkeypatch.context() as m:
        m.setattr(container, "check_entries", lambda files: None)
        return seal_model(backend, files, {}, {OWNER: KEYS.public_bundle()})


def test_documented_entries_round_trip(backend):
    sealed = seal_model(backend, GOOD, {}, {OWNER: KEYS.public_bundle()})
    assert open_model(backend, sealed.cid, OWNER, KEYS) == GOOD
    data = seal_model(backend, {"data.jsonl": b"{}\n"}, {}, {OWNER: KEYS.public_bundle()})
    assert open_model(backend, data.cid, OWNER, KEYS) == {"data.jsonl": b"{}\n"}


HOSTILE_NAMES = [
    "policy/../../x",                 # parent traversal
    "policy//abs/path",               # absolute path after the prefix
    "adapter/a/../../b",              # traversal through a sub-folder
    "adapter/sub/file",               # sub-folders are not part of the format
    "adapter/..",
    "adapter/",
    "adapter/a\\..\\..\\b",           # backslashes
    "adapter/a\x00b",                 # NUL
    "adapter/\x1b]8;;x\x07a",         # control characters
    "/etc/passwd",                    # no allowed kind at all
    "../x",
    "adapter_config.json",            # the pre-format bare name
    "router/merge.json",              # not an entry kind zoo writes
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_entry_name_is_refused(backend, monkeypatch, tmp_path, name):
    sealed = _hostile_seal(backend, monkeypatch, {**GOOD, name: b"pwned"})
    with pytest.raises(IntegrityError) as err:
        open_model(backend, sealed.cid, OWNER, KEYS)
    assert "malformed container" in err.value.message and err.value.hint
    assert err.value.code == 1
    with pytest.raises(IntegrityError):  # and zoo's own writer refuses it too
        pack_files({**GOOD, name: b"pwned"})


def test_duplicate_entries_are_refused(backend, monkeypatch):
    # a dict cannot hold a name twice: duplicate the header entry of a valid pack by hand
    packed = pack_files({"adapter/a": b"1"})
    head, body = packed[:12], packed[12:]
    entry = body[: 2 + len(b"adapter/a") + 8]
    dup = container.PACK_MAGIC + (2).to_bytes(4, "big") + entry + entry + b"11"
    assert head[:8] == container.PACK_MAGIC
    with pytest.raises(IntegrityError, match="appears twice"):
        unpack_files(dup)


def test_too_many_entries_are_refused(backend, monkeypatch):
    files = {f"adapter/f{i}": b"x" for i in range(container.MAX_ENTRIES + 1)}
    sealed = _hostile_seal(backend, monkeypatch, files)
    with pytest.raises(IntegrityError, match="malformed container: 65 entries"):
        open_model(backend, sealed.cid, OWNER, KEYS)


def test_oversized_entries_are_refused(backend, monkeypatch):
    sealed = _hostile_seal(backend, monkeypatch, {**GOOD, "adapter/big": b"x" * 5000})
    monkeypatch.setattr(container, "MAX_ENTRY_BYTES", 4096)  # a small bound keeps the test cheap
    with pytest.raises(IntegrityError, match="malformed container: entry 'adapter/big' declares 5000"):
        open_model(backend, sealed.cid, OWNER, KEYS)
    monkeypatch.setattr(container, "MAX_ENTRY_BYTES", 1 << 20)
    monkeypatch.setattr(container, "MAX_PAYLOAD_BYTES", 4096)
    with pytest.raises(IntegrityError, match="malformed container"):
        open_model(backend, sealed.cid, OWNER, KEYS)
    # a header that declares an absurd size is refused before any slicing
    evil = container.PACK_MAGIC + (1).to_bytes(4, "big") + (9).to_bytes(2, "big") + b"adapter/a" + (2**63).to_bytes(8, "big")
    with pytest.raises(IntegrityError, match="malformed container"):
        unpack_files(evil)


@pytest.mark.parametrize("name", ["../x", "/tmp/x", "a/b", "a\\b", "a\x00b", "..", ".", ""])
def test_safe_write_refuses_names_outside_the_folder(tmp_path, name):
    folder = tmp_path / "work" / "policy"
    with pytest.raises(IntegrityError, match="malformed container"):
        write_into(folder, {"ok.json": b"1", name: b"pwned"})
    assert not (folder / "ok.json").exists()  # every name is checked before anything is written
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []


def test_safe_write_refuses_a_symlink_pointing_out(tmp_path):
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(IntegrityError):
        child_path(folder, "link")
    assert write_into(folder, {"policy.json": b"{}"}) == [folder / "policy.json"]


@pytest.mark.parametrize("name", ["adapter/experts/defi/adapter_config.json",
                                  "adapter/experts/nft_1/adapter_model.safetensors"])
def test_routed_merge_expert_entries_are_allowed(name):
    assert container.check_entry_name(name) == name


@pytest.mark.parametrize("name", ["adapter/experts/../x", "adapter/experts/a/b/c", "adapter/experts//x",
                                  "adapter/experts/a", "adapter/other/a/b", "policy/experts/a/b"])
def test_other_nested_entries_are_refused(name):
    with pytest.raises(IntegrityError, match="malformed container"):
        container.check_entry_name(name)


def test_safe_write_nests_only_expert_folders(tmp_path):
    folder = tmp_path / "adapter"
    assert write_into(folder, {"experts/defi/adapter_config.json": b"{}"}) == [
        folder / "experts" / "defi" / "adapter_config.json"]
    for name in ("other/a/b", "experts/../../x", "experts/a/b/c", "experts/a"):
        with pytest.raises(IntegrityError, match="malformed container"):
            write_into(folder, {name: b"pwned"})

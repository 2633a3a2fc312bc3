"""Keystore (Web3 Secret Storage v3) and password sources; interop with the real cast."""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest
from support.anvil import CAST_BIN

from zoo_cli.errors import BadInput, NotFound, PermissionDenied


@pytest.fixture
def ks(tmp_path):
    from zoo_cli.chain.keystore import Keystore

    return Keystore(tmp_path / "keystore")


def test_dev_keys_are_anvils_mnemonic():
    from eth_account import Account

    from zoo_cli.chain.keystore import DEV_ADDRESSES, DEV_MNEMONIC, DEV_PRIVATE_KEYS

    Account.enable_unaudited_hdwallet_features()
    for i in (0, 9):
        acct = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        assert acct.key.hex().removeprefix("0x") == DEV_PRIVATE_KEYS[i][2:]
    assert [Account.from_key(k).address for k in DEV_PRIVATE_KEYS] == list(DEV_ADDRESSES)


def test_dev_accounts_import_light_kdf_idempotent(ks):
    from zoo_cli.chain.keystore import DEV_ADDRESSES, DEV_PASSWORD, import_dev_accounts, is_dev

    entries = import_dev_accounts(ks)
    assert [e.name for e in entries] == [f"dev{i}" for i in range(10)]
    assert [e.address for e in ks.list()] == list(DEV_ADDRESSES)
    doc = json.loads(entries[0].path.read_text())
    assert doc["version"] == 3 and doc["crypto"]["kdf"] == "scrypt"
    assert doc["crypto"]["kdfparams"]["n"] == 1024
    assert ks.unlock(entries[3], DEV_PASSWORD).address == DEV_ADDRESSES[3]
    assert is_dev(entries[0])
    assert import_dev_accounts(ks) == entries  # rerun keeps the files


def test_new_list_resolve_unlock_and_errors(ks):
    e = ks.new("alice", "pw-1", light_kdf=True)
    assert stat.S_IMODE(os.stat(e.path).st_mode) == 0o600
    assert e.path.name == "alice.json"
    assert ks.list() == [e]
    assert ks.resolve("alice") == e
    assert ks.resolve(e.address.lower()) == e
    assert ks.unlock(e, "pw-1").address == e.address
    with pytest.raises(PermissionDenied) as exc:
        ks.unlock(e, "wrong")
    assert exc.value.code == 4 and "pw-1" not in exc.value.message
    with pytest.raises(NotFound) as exc:
        ks.resolve("bob")
    assert exc.value.code == 3 and exc.value.hint == "zoo account list"
    with pytest.raises(BadInput):
        ks.new("alice", "x", light_kdf=True)
    with pytest.raises(BadInput):
        ks.new("bad name!", "x", light_kdf=True)
    assert not (ks.dir / "bad name!.json").exists()


def test_import_private_key_and_keystore(ks, tmp_path):
    from eth_account import Account

    acct = Account.create()
    e = ks.import_private_key("k1", "0x" + acct.key.hex().removeprefix("0x") + "\n", "pw",
                              light_kdf=True)
    assert e.address == acct.address
    with pytest.raises(BadInput):  # same address twice
        ks.import_private_key("k2", acct.key, "pw", light_kdf=True)
    with pytest.raises(BadInput):
        ks.import_private_key("k3", "0x1234", "pw")

    other = Account.create()
    f = tmp_path / "ext.json"
    f.write_text(json.dumps(Account.encrypt(other.key, "ext-pw", kdf="pbkdf2", iterations=1000)))
    with pytest.raises(PermissionDenied):
        ks.import_keystore("ext", f, "nope")
    assert not ks.exists("ext")
    e = ks.import_keystore("ext", f, "ext-pw")
    assert ks.unlock(e, "ext-pw").address == other.address


@pytest.mark.skipif(not CAST_BIN.exists(), reason="cast missing (npm ci)")
def test_cast_interop_both_ways(ks, tmp_path):
    # cast -> zoo
    out = subprocess.run([str(CAST_BIN), "wallet", "new", str(tmp_path), "--unsafe-password", "cpw"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    assert len(files) == 1
    e = ks.import_keystore("fromcast", files[0], "cpw")
    assert e.address.lower() in out.lower()
    # zoo (standard scrypt) -> cast
    mine = ks.new("tocast", "zpw")
    assert json.loads(mine.path.read_text())["crypto"]["kdfparams"]["n"] == 262144
    addr = subprocess.run([str(CAST_BIN), "wallet", "address", "--keystore", str(mine.path),
                           "--password", "zpw"], capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()
    assert addr == mine.address
    # dev account (light KDF) is a valid keystore for cast too
    from zoo_cli.chain.keystore import DEV_ADDRESSES, import_dev_accounts

    dev0 = import_dev_accounts(ks)[0]
    addr = subprocess.run([str(CAST_BIN), "wallet", "address", "--keystore", str(dev0.path),
                           "--password", "zoo-dev"], capture_output=True, text=True, check=True,
                          timeout=60).stdout.strip()
    assert addr == DEV_ADDRESSES[0]


def test_password_sources(tmp_path, monkeypatch):
    from zoo_cli.chain import passwords
    from zoo_cli.chain.keystore import KeyEntry, Keystore, import_dev_accounts
    from zoo_cli.config import load_settings

    user = KeyEntry("alice", "0x" + "11" * 20, tmp_path / "alice.json")
    dev = import_dev_accounts(Keystore(tmp_path / "keystore"))[0]  # a dev file `init --dev` wrote
    s = load_settings(home=tmp_path)
    monkeypatch.setattr(passwords, "_tty_prompt", lambda prompt: None)
    with pytest.raises(BadInput) as exc:
        passwords.get_password(s, user)
    assert exc.value.code == 2 and "--password-file" in exc.value.hint
    assert passwords.get_password(s, dev) == "zoo-dev"
    monkeypatch.setenv("ZOO_PASSWORD", "from-env")
    assert passwords.get_password(s, user) == "from-env"
    pf = tmp_path / "pw.txt"
    pf.write_text("from-env-file\nignored\n")
    monkeypatch.setenv("ZOO_PASSWORD_FILE", str(pf))
    assert passwords.get_password(s, user) == "from-env-file"
    flag = tmp_path / "flag.txt"
    flag.write_text("from-flag\n")
    assert passwords.get_password(s.with_(password_file=flag), user) == "from-flag"
    with pytest.raises(BadInput):
        passwords.get_password(s.with_(password_file=tmp_path / "missing"), user)
    monkeypatch.delenv("ZOO_PASSWORD_FILE")
    monkeypatch.delenv("ZOO_PASSWORD")
    monkeypatch.setattr(passwords, "_tty_prompt", lambda prompt: "typed")
    monkeypatch.delenv("ZOO_NO_PROMPT")
    assert passwords.get_password(s, user, confirm=True) == "typed"


def test_imported_dev_address_uses_the_users_password(tmp_path, monkeypatch):
    """Issue 13, item 11d: `zoo account import` of an anvil key with the user's own password must
    unlock with that password (it used to be forced to the dev password: "wrong password");
    only the keystores `zoo init --dev` wrote use the dev password."""
    from types import SimpleNamespace

    from zoo_cli.chain.keystore import (
        DEV_ADDRESSES,
        DEV_PRIVATE_KEYS,
        Keystore,
        import_dev_accounts,
    )
    from zoo_cli.config import load_settings
    from zoo_cli.workflows.accounts import import_account
    from zoo_cli.workflows.signer import unlock

    monkeypatch.setenv("ZOO_NO_PROMPT", "1")
    monkeypatch.delenv("ZOO_PASSWORD_FILE", raising=False)
    settings = load_settings(home=tmp_path / "home")
    key_file = tmp_path / "anvil1.key"
    key_file.write_text(DEV_PRIVATE_KEYS[1] + "\n")
    monkeypatch.setenv("ZOO_PASSWORD", "my-own-password")
    entry = import_account(settings, "mine", key_file, None)
    assert entry["address"] == DEV_ADDRESSES[1]
    ks = Keystore(settings.keystore_dir)
    dev_chain = SimpleNamespace(chain_id=1337)
    assert unlock(settings, ks.resolve("mine"), dev_chain).address == DEV_ADDRESSES[1]
    monkeypatch.setenv("ZOO_PASSWORD", "zoo-dev")  # the dev password does not open the user's file
    with pytest.raises(PermissionDenied, match="wrong password"):
        unlock(settings, ks.resolve("mine"), dev_chain)
    # the accounts `init --dev` created still open with the dev password, whatever ZOO_PASSWORD says
    dev = {e.name: e for e in import_dev_accounts(ks)}
    assert unlock(settings, dev["dev0"], dev_chain).address == DEV_ADDRESSES[0]
    assert json.loads(dev["dev0"].path.read_text())["x-zoo-dev"] is True


def test_dev_files_written_before_the_marker_still_use_the_dev_password(ks):
    from eth_account import Account

    from zoo_cli.chain.keystore import DEV_PASSWORD, DEV_PRIVATE_KEYS, uses_dev_password

    legacy = ks._write("dev2", Account.encrypt(bytes.fromhex(DEV_PRIVATE_KEYS[2][2:]), DEV_PASSWORD,
                                               kdf="scrypt", iterations=1024))
    assert uses_dev_password(legacy)
    assert not uses_dev_password(ks.new("alice", "pw", light_kdf=True))  # not a dev address

from pathlib import Path

import pytest

from zoo_cli.config import load_settings, write_config
from zoo_cli.errors import BadInput


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("ZOO_HOME", "ZOO_NETWORK", "ZOO_RPC", "ZOO_IPFS", "ZOO_ACCOUNT", "ZOO_PASSWORD_FILE", "ZOO_VERIFIER",
                "ZOO_VERIFIER_URL"):
        monkeypatch.delenv(var, raising=False)


def test_defaults(tmp_path):
    s = load_settings(home=tmp_path)
    net = s.resolve_network()
    assert net.name == "local" and net.embedded and net.chain_id == 1337
    assert s.account is None


def test_precedence_flag_env_file_default(tmp_path, monkeypatch):
    write_config(tmp_path, {"account": "from-file", "network": "anvil"})
    assert load_settings(home=tmp_path).account == "from-file"
    monkeypatch.setenv("ZOO_ACCOUNT", "from-env")
    assert load_settings(home=tmp_path).account == "from-env"
    assert load_settings(home=tmp_path, account="from-flag").account == "from-flag"
    assert load_settings(home=tmp_path).resolve_network().chain_id == 31337


def test_verifier_url_from_file_then_env(tmp_path, monkeypatch):
    assert load_settings(home=tmp_path).verifier_url is None
    write_config(tmp_path, {"verifier_url": "http://file:8765"})
    assert load_settings(home=tmp_path).verifier_url == "http://file:8765"
    monkeypatch.setenv("ZOO_VERIFIER_URL", "http://env:8765")
    assert load_settings(home=tmp_path).verifier_url == "http://env:8765"


def test_rpc_without_network_is_named_rpc(tmp_path):
    s = load_settings(home=tmp_path, rpc="http://127.0.0.1:9999")
    net = s.resolve_network()
    assert net.name == "rpc" and net.rpc == "http://127.0.0.1:9999" and net.chain_id is None


def test_custom_network_and_preset_override(tmp_path):
    write_config(tmp_path, {"networks": {"mine": {"rpc": "http://10.0.0.1:8545", "chain_id": 42}, "zoo-testnet": {"rpc": "http://x:1"}}})
    s = load_settings(home=tmp_path, network="mine")
    assert s.resolve_network().chain_id == 42
    t = load_settings(home=tmp_path, network="zoo-testnet").resolve_network()
    assert t.rpc == "http://x:1" and t.chain_id == 200201


def test_unknown_network(tmp_path):
    with pytest.raises(BadInput):
        load_settings(home=tmp_path, network="nope").resolve_network()


def test_broken_config(tmp_path):
    (tmp_path / "config.toml").write_text("this is = = not toml")
    with pytest.raises(BadInput):
        load_settings(home=tmp_path)


def test_write_config_roundtrip(tmp_path):
    write_config(tmp_path, {"account": 'we"ird', "verifier": "dev9"})
    s = load_settings(home=tmp_path)
    assert s.account == 'we"ird' and s.verifier == "dev9"
    assert oct(Path(tmp_path / "config.toml").stat().st_mode & 0o777) == "0o644"


def test_config_writer_escapes_what_toml_requires(tmp_path):
    """A value with quotes, a newline or a control character round-trips (the old hand-rolled
    writer emitted a raw newline: a config.toml that no longer parsed)."""
    import tomllib

    from zoo_cli.config import write_config

    data = {"rpc": 'http://x/"q"\nnext\x07', "gateways": ["http://a", "http://b"],
            "networks": {"my net": {"rpc": "http://1", "chain_id": 5}}}
    write_config(tmp_path, data)
    assert tomllib.loads((tmp_path / "config.toml").read_text()) == data

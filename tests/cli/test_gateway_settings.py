"""`--gateway URL` (repeatable) > ZOO_GATEWAYS > `gateways = [...]` in config.toml."""

import pytest

from zoo_cli.config import load_settings, read_config_file, write_config
from zoo_cli.errors import BadInput


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv("ZOO_GATEWAYS", raising=False)


def test_gateway_precedence_and_list_roundtrip(tmp_path, monkeypatch):
    assert load_settings(home=tmp_path).gateways == ()
    write_config(tmp_path, {"gateways": ["http://a:8080/", "https://b.example"]})
    assert read_config_file(tmp_path)["gateways"] == ["http://a:8080/", "https://b.example"]
    assert load_settings(home=tmp_path).gateways == ("http://a:8080", "https://b.example")
    monkeypatch.setenv("ZOO_GATEWAYS", "http://c:1, http://d:2")
    assert load_settings(home=tmp_path).gateways == ("http://c:1", "http://d:2")
    assert load_settings(home=tmp_path, gateways=["http://e:3", "http://e:3"]).gateways == ("http://e:3",)


@pytest.mark.parametrize("bad", ["ftp://x", "127.0.0.1:8080", "http://" + "x" * 3000])
def test_bad_gateway_urls_are_bad_input(tmp_path, bad):
    with pytest.raises(BadInput) as exc:
        load_settings(home=tmp_path, gateways=[bad])
    assert exc.value.code == 2 and "gateway" in exc.value.message


def test_gateways_in_config_must_be_a_list_of_urls(tmp_path):
    (tmp_path / "config.toml").write_text("gateways = [1, 2]\n")
    with pytest.raises(BadInput):
        load_settings(home=tmp_path)

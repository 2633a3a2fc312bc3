"""The bad-input corpus's world: one embedded home with a few tokens in known states,
and one real anvil (for wrong chain id / missing deployment cases)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardening.harness import Zoo
from support.anvil import available as anvil_available
from support.anvil import start_anvil


@pytest.fixture(scope="session")
def corpus_anvil():
    if not anvil_available():
        yield None
        return
    node = start_anvil(31337)
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def world(tmp_path_factory, corpus_anvil) -> dict:
    """Placeholders the cases use: {T} trained by dev0, {P} plain (untrained) dev0 token,
    {D1} a dev1 token, {L} a dev0 token leased to dev2 whose lease has expired, files..."""
    root = tmp_path_factory.mktemp("badinput")
    zoo = Zoo(root / "home")
    zoo("init", "--dev")
    files = root / "files"
    files.mkdir()
    good = files / "good.jsonl"
    zoo("data", "synth", "--domain", "defi", "--n", 40, "--seed", 1, "-o", good)
    (files / "malformed.jsonl").write_text('{"domain": "defi", \nnot json at all\n{]\n')
    (files / "binary.jsonl").write_bytes(bytes(range(256)) * 64 + b"\x00\xff\xfe")
    line = good.read_text().splitlines()[0]
    (files / "hugeline.jsonl").write_text('{"domain": "defi", "pad": "' + "x" * (12 << 20) + '"}\n' + line + "\n")
    (files / "empty.jsonl").write_text("")
    (files / "blank.jsonl").write_text("\n\n   \n")
    (files / "wrongschema.jsonl").write_text('{"domain": "defi", "foo": 1}\n[1, 2, 3]\n"str"\n{"domain": "bogus"}\n')
    (files / "garbage.key").write_text("this is not a private key\n")
    (files / "corrupt-keystore.json").write_text('{"version": 3, "crypto": {"cipher": "nope"}}')
    (files / "alice.pw").write_text("alice-password-1\n")
    (files / "wrong.pw").write_text("not-alice\n")

    t = zoo("mint", "--name", "corpus-trained").data["token_id"]
    zoo("train", t, good, "--steps", 2)
    p = zoo("mint", "--name", "corpus-plain").data["token_id"]
    d1 = zoo("mint", "--name", "corpus-dev1", account="dev1").data["token_id"]
    lt = zoo("mint", "--name", "corpus-leased").data["token_id"]
    zoo("train", lt, good, "--steps", 2)
    zoo("account", "publish-keys", account="dev2")
    zoo("account", "publish-keys", account="dev3")
    zoo("lease", "grant", lt, "--to", "dev2", "--for", "60s")
    zoo("devnet", "advance", "10m")
    zoo("lease", "offer", lt, "--price-per-day", "100000eth", "--max", "30d")
    zoo("account", "new", "alice", env={"ZOO_PASSWORD": "alice-password-1"})
    cid = zoo("show", t).data["cid"]
    return {
        "zoo": zoo, "root": root, "files": files, "anvil": corpus_anvil,
        "T": t, "P": p, "D1": d1, "L": lt, "CID": cid,
        "DEV0": zoo("account", "show", "dev0").data["address"],
        "DEV3": zoo("account", "show", "dev3").data["address"],
        "ANVIL": corpus_anvil.url if corpus_anvil else "http://127.0.0.1:9",
    }

"""A hostile model container on the victim's token (issue 13, item 1).

An attacker (dev1) forks their own token with a hand-built container whose payload names
``policy/../../../pwned`` and an absolute ``policy//<path>``, wraps its key for the victim
(dev0, whose public keys are on the KeyRegistry) and transfers the token to the victim.
The victim's real ``zoo train`` and ``zoo export`` must fail with "malformed container"
(exit 1, one line + hint) and write nothing outside their folders.
"""

from __future__ import annotations

import pytest


@pytest.mark.embedded_only
def test_hostile_container_on_victims_token_writes_nothing(zoo_env, tmp_path):
    from zoo_cli.config import load_settings
    from zoo_cli.storage import container
    from zoo_cli.workflows.models import read_record
    from zoo_cli.workflows.session import Session, event_arg

    zoo = zoo_env
    assert zoo.backend == "embedded"
    parent = zoo("mint", "--name", "bait", account="dev1").data["token_id"]
    outside = tmp_path / "pwned-abs"
    relative_target = zoo.home / "pwned-rel"  # journal/<run>.d/policy/../../../ = $ZOO_HOME
    hostile = {"adapter/adapter_config.json": b"{}", "adapter/adapter_model.safetensors": b"x",
               "policy/../../../pwned-rel": b"echo pwned\n", "policy/" + str(outside): b"echo pwned\n"}

    with Session(load_settings(home=zoo.home, account="dev0")) as v:
        victim, victim_bundle = v.address, v.keys.public_bundle()
    with Session(load_settings(home=zoo.home, account="dev1")) as s:
        base_hash = read_record(s, parent).base_model
        manifest = {"kind": "zoo-model", "model_kinds": ["lora", "policy"],
                    "base_model": {"id": "zoo-tiny", "hash": base_hash, "builtin": True, "path": None}}
        orig = getattr(container, "check_entries", None)
        container.check_entries = lambda files: None  # the attacker's own build skips the check
        try:
            sealed = container.seal_model(s.storage, hostile, manifest,
                                          {s.address: s.keys.public_bundle(), victim: victim_bundle})
        finally:
            container.check_entries = orig
        res = s.transact(s.nft.functions.forkModelWithHash(parent, sealed.digest32))
        token = int(event_arg(res, "ModelForked", "newTokenId"))
        s.transact(s.nft.functions.transferFrom(s.address, victim, token))

    data = tmp_path / "d.jsonl"
    zoo("data", "synth", "--domain", "defi", "--n", 30, "--seed", 3, "-o", data, json_out=False)
    r = zoo("train", token, data, "--steps", 2, json_out=False, expect=1)
    assert "malformed container" in r.stderr and "hint:" in r.stderr and "Traceback" not in r.stderr
    j = zoo("export", token, "-o", tmp_path / "export", expect=1).data
    assert j["error"]["code"] == 1 and "malformed container" in j["error"]["message"]
    assert not outside.exists() and not relative_target.exists()
    assert not list(zoo.home.rglob("pwned*")) and not (tmp_path / "export").exists()

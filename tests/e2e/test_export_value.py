"""zoo export (PEFT folder, encrypted CAR) and zoo value."""

from __future__ import annotations

import json


def test_export_peft_folder(zoo_env, trained, tmp_path):
    t = trained["token_id"]
    out = tmp_path / "adapter"
    d = zoo_env("export", t, "-o", out).data
    assert d["path"] == str(out)
    names = sorted(p.split("/")[-1] for p in d["files"])
    assert names == ["README.md", "adapter_config.json", "adapter_model.safetensors"]
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["peft_type"] == "LORA" and (out / cfg["base_model_name_or_path"]).exists() or cfg["base_model_name_or_path"]
    header_len = int.from_bytes((out / "adapter_model.safetensors").read_bytes()[:8], "little")
    assert header_len > 0  # safetensors, never pickle
    assert f"token id: {t}" in (out / "README.md").read_text()
    zoo_env("export", t, "-o", out, expect=2)  # refuses to overwrite an adapter


def test_export_loads_with_peft(zoo_env, trained, tmp_path):
    if zoo_env.backend != "embedded":
        return  # the adapter bytes are the same on both backends; load once
    out = tmp_path / "peft"
    zoo_env("export", trained["token_id"], "-o", out)
    from peft import AutoPeftModelForCausalLM

    model = AutoPeftModelForCausalLM.from_pretrained(str(out), local_files_only=True)
    assert model is not None


def test_export_int4(zoo_env, trained, tmp_path):
    """`zoo export --compress int4`: the stored int4 form (quantized at export for a token
    trained without compression), its format and bytes in the JSON, >= 4x smaller weights
    than the float32 export, and a folder that plain peft loads once dequantized."""
    t = trained["token_id"]
    f32 = zoo_env("export", t, "-o", tmp_path / "f32").data
    assert f32["format"] == "peft-float32" and f32["compress"] == "none"
    assert f32["bytes"] == sum((tmp_path / "f32" / n).stat().st_size for n in
                               ("README.md", "adapter_config.json", "adapter_model.safetensors"))
    out = tmp_path / "int4"
    d = zoo_env("export", t, "-o", out, "--compress", "int4").data
    assert d["format"] == "zoo-int4-g64-1" and d["compress"] == "int4" and d["encrypted"] is False
    assert sorted(p.split("/")[-1] for p in d["files"]) == ["README.md", "adapter_config.json",
                                                            "adapter_int4.safetensors"]
    assert d["weights_bytes"] == (out / "adapter_int4.safetensors").stat().st_size
    assert f32["weights_bytes"] >= 4 * d["weights_bytes"]
    assert "dequantize_folder" in (out / "README.md").read_text()
    err = zoo_env("export", t, "-o", tmp_path / "m.car", "--car", "--compress", "int4", expect=2).data
    assert "--car" in err["error"]["message"]
    zoo_env("export", t, "-o", tmp_path / "bad", "--compress", "nf4", expect=2)
    if zoo_env.backend != "embedded":
        return
    from peft import AutoPeftModelForCausalLM

    from zoo_cli.engine.quant import dequantize_folder

    model = AutoPeftModelForCausalLM.from_pretrained(str(dequantize_folder(out, tmp_path / "plain")),
                                                     local_files_only=True)
    assert model is not None


def test_export_car(zoo_env, trained, tmp_path):
    t = trained["token_id"]
    d = zoo_env("export", t, "-o", tmp_path / "model.car", "--car").data
    assert d["encrypted"] is True and d["files"] == [str(tmp_path / "model.car")]
    from zoo_cli.storage.car import read_car

    with open(tmp_path / "model.car", "rb") as fh:
        roots, blocks = read_car(fh)
        n = sum(1 for _ in blocks)
    from zoo_cli.storage.cids import parse_cid

    assert [parse_cid(r) for r in roots] == [parse_cid(zoo_env("show", t).data["cid"])] and n == d["blocks"]
    # importable into another home
    from e2e.zoocli import Zoo

    other = Zoo(tmp_path / "other-home")
    assert other("ipfs", "car", "import", tmp_path / "model.car").data["roots"] == [d["cid"]]


def test_export_permissions(zoo_env, trained, tmp_path):
    t = trained["token_id"]
    assert zoo_env("export", t, "-o", tmp_path / "x", account="dev5", expect=4).data["error"]["code"] == 4
    zoo_env("export", t, "-o", tmp_path / "y.car", "--car", account="dev5", expect=4)
    bare = zoo_env("mint", "--name", "nothing-to-export").data["token_id"]
    zoo_env("export", bare, "-o", tmp_path / "z", expect=3)
    zoo_env("export", 99999, "-o", tmp_path / "w", expect=3)


def test_value(zoo_env, trained):
    t = trained["token_id"]
    d = zoo_env("value", t).data
    show = zoo_env("show", t).data
    assert int(d["value_wei"]) > 0 and d["value_eth"]
    i = d["inputs"]
    assert i["stage"] == show["stage"] and i["performance"] == show["performance"]
    assert i["training_ops"] == show["training_ops"] and i["verified_ops"] == trained["train"]["ops"]
    assert set(d["factors_bps"]) == {"stage", "performance", "specializations", "verification", "lineage"}
    expected = 10**16
    for f in d["factors_bps"].values():
        expected = expected * f // 10_000
    assert int(d["intrinsic_wei"]) == expected
    assert i["recent_sales"] == [] and d["value_wei"] == d["intrinsic_wei"]
    bare = zoo_env("mint", "--name", "worth-little").data["token_id"]
    assert int(zoo_env("value", bare).data["value_wei"]) < int(d["value_wei"])
    assert "estimate" in zoo_env("value", t, json_out=False).stdout
    zoo_env("value", 99999, expect=3)

"""The built-in base: cached, identified by its weights hash, deterministic to build."""

from __future__ import annotations

import pytest

from zoo_cli.errors import BadInput, NotFound


def test_builtin_base_is_a_standard_hf_folder_named_by_its_hash(base):
    from zoo_cli.engine.base import _sha256_file

    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (base.path / name).exists(), name
    assert base.hash32 == _sha256_file(base.path / "model.safetensors")
    assert base.builtin and base.id == "zoo-tiny-1"


def test_resolve_caches_and_accepts_a_local_folder(base, tmp_path):
    import shutil

    from zoo_cli.engine.base import resolve_base

    assert resolve_base("zoo-tiny", base.path.parent.parent).hash32 == base.hash32
    copy = tmp_path / "my-base"
    shutil.copytree(base.path, copy)
    local = resolve_base(str(copy), tmp_path / "unused-cache")
    assert local.hash32 == base.hash32 and local.path == copy.resolve() and not local.builtin
    with pytest.raises(NotFound):
        resolve_base(str(tmp_path / "missing"), tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput):
        resolve_base(str(tmp_path / "empty"), tmp_path)


def test_build_is_deterministic(tmp_path):
    from zoo_cli.engine.base import build_zoo_tiny

    small = {"corpus_per_domain": 60, "pretrain_steps": 2, "pretrain_batch": 2, "seq_len": 64}
    a = build_zoo_tiny(tmp_path / "a", spec=small)
    b = build_zoo_tiny(tmp_path / "b", spec=small)
    assert a == b
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()

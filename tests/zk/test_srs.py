"""`--srs PATH` (a ceremony SRS file): key folder selection and the unsafe flag."""

from __future__ import annotations

import hashlib
import shutil
import time

import pytest

from zoo_cli.engine import policy as pol
from zoo_cli.engine import zk
from zoo_cli.errors import NotFound


def test_missing_srs_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "ceremony.srs"
    for build in (lambda: zk.ensure_keys(tmp_path / "zk", srs=missing), lambda: zk.arch_dir(tmp_path, srs=missing)):
        with pytest.raises(NotFound) as exc:
            build()
        assert str(missing) in exc.value.message and "--srs PATH" in exc.value.hint
    with pytest.raises(NotFound):  # a folder is not an SRS file either
        zk.ensure_keys(tmp_path / "zk", srs=tmp_path)
    assert not (tmp_path / "zk").exists()  # nothing was built


def test_srs_file_selects_its_own_key_folder(tmp_path):
    srs = tmp_path / "ceremony.srs"
    srs.write_bytes(b"not a real SRS, only its identity matters here")
    sha = hashlib.sha256(srs.read_bytes()).hexdigest()
    assert zk._srs_identity(srs) == (f"srs-{sha[:16]}", False)  # not unsafe
    assert zk._srs_identity(None) == ("devnet-unsafe", True)
    assert zk.arch_dir(tmp_path, srs=srs) == tmp_path / pol.PolicyConfig().arch_id / f"srs-{sha[:16]}"
    assert zk.arch_dir(tmp_path) == tmp_path / pol.PolicyConfig().arch_id / "devnet-unsafe"


@pytest.mark.slow
def test_ceremony_srs_builds_keys_not_marked_unsafe(zk_root, tmp_path):
    """A real key build from an SRS file (the locally generated one, copied in as if it came
    from a ceremony): its own `srs-<sha>` folder, keys not unsafe, the file recorded."""
    unsafe = zk.ensure_keys(zk_root)
    srs = tmp_path / "ceremony.srs"
    shutil.copyfile(unsafe.srs_path, srs)
    t = time.perf_counter()
    keys = zk.ensure_keys(tmp_path / "zk", srs=srs)
    print(f"\nkey build with --srs: {time.perf_counter() - t:.1f} s")
    sha = hashlib.sha256(srs.read_bytes()).hexdigest()
    assert keys.dir.name == keys.srs_id == f"srs-{sha[:16]}" and not keys.unsafe_srs
    assert keys.manifest["srs_unsafe"] is False and keys.manifest["srs_sha256"] == sha
    assert keys.srs_path == srs.resolve() and not (keys.dir / "kzg.srs").exists()  # the file is used in place
    assert keys.pk.exists() and keys.vk.exists()
    assert zk.ensure_keys(tmp_path / "zk", srs=srs).manifest == keys.manifest  # loaded, not rebuilt

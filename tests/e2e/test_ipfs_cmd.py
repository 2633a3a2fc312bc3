"""zoo ipfs add / cat / pin / car export / car import."""

from __future__ import annotations


def test_ipfs_plumbing(zoo_env, tmp_path):
    src = tmp_path / "notes.txt"
    body = b"zoo ipfs test\n" * 40_000  # > 256 KiB: a chunked, multi-block file
    src.write_bytes(body)
    d = zoo_env("ipfs", "add", src).data
    assert d["size"] == len(body) and d["cid"].startswith("bafy")
    small = tmp_path / "hello.txt"
    small.write_bytes(b"hello\n")
    # the CID `ipfs add --cid-version=1` gives for "hello\n" (raw leaf)
    assert zoo_env("ipfs", "add", small).data["cid"] == "bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"
    cat = zoo_env("--json", "ipfs", "cat", d["cid"], json_out=False)  # data, whatever --json says
    assert cat.stdout.encode() == body
    assert zoo_env("ipfs", "pin", d["cid"]).data == {"cid": d["cid"], "pinned": True}
    car = tmp_path / "notes.car"
    e = zoo_env("ipfs", "car", "export", d["cid"], "-o", car).data
    assert car.exists() and e["blocks"] >= 3
    from e2e.zoocli import Zoo

    other = Zoo(tmp_path / "fresh-home")
    assert other("ipfs", "car", "import", car).data["roots"] == [d["cid"]]
    assert other("ipfs", "cat", d["cid"], json_out=False).stdout.encode() == body


def test_ipfs_errors(zoo_env, tmp_path):
    zoo_env("ipfs", "add", tmp_path / "missing.txt", expect=2)
    zoo_env("ipfs", "cat", "not-a-cid", json_out=False, expect=2)
    zoo_env("ipfs", "cat", "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq", json_out=False, expect=3)
    bad = tmp_path / "bad.car"
    bad.write_bytes(b"\x01\x02garbage")
    r = zoo_env("ipfs", "car", "import", bad, expect=None)
    assert r.code in (1, 2)


def test_pins_unpin_gc(zoo_env, tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(b"zoo gc test " * 1000)
    cid = zoo_env("ipfs", "add", f).data["cid"]
    assert cid in {p["cid"] for p in zoo_env("ipfs", "pins").data}
    zoo_env("ipfs", "unpin", cid)
    assert cid not in {p["cid"] for p in zoo_env("ipfs", "pins").data}
    if zoo_env.backend == "embedded":
        assert zoo_env("ipfs", "gc").data["removed"] >= 1
        r = zoo_env("ipfs", "cat", cid, json_out=False, expect=3)
        assert "error:" in r.stderr
    r = zoo_env("ipfs", "unpin", cid, expect=3)
    assert "zoo ipfs pins" in r.stderr

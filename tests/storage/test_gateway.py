"""The IPFS trustless gateway (`zoo ipfs serve`, services/gateway.py) and the gateway client
(`--gateway`, storage/gateways.py): spec responses, publication rules (pinned and not private
only), hostile requests, hash-checked fetches that catch a lying gateway."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/support
from support.lying_gateway import lying_gateway

from zoo_cli.errors import NotFound
from zoo_cli.storage.car import read_car
from zoo_cli.storage.cids import parse_cid
from zoo_cli.storage.embedded import EmbeddedStore

RAW = "application/vnd.ipld.raw"
CAR = "application/vnd.ipld.car"


@pytest.fixture
def published(tmp_path):
    """A store with a pinned 3-leaf file, a pinned directory, a pinned private blob, an unpinned blob."""
    store = EmbeddedStore(tmp_path / "a", fsync=False)
    data = os.urandom(600_000)
    file_cid, _ = store.add_stream([data])
    dir_cid = store.add_directory({"manifest.json": b'{"v":1}', "keys": {"0xabc": b"wrapped"}})
    secret = store.add_bytes(b"verifier evaluation set: private\n")
    store.mark_private(secret)
    loose = store.add_bytes(b"not pinned\n", pin=False)
    yield store, {"file": file_cid, "data": data, "dir": dir_cid, "secret": secret, "loose": loose}
    store.close()


@pytest.fixture
def client(published):
    from fastapi.testclient import TestClient

    from zoo_cli.services.gateway import create_app

    store, _ = published
    with TestClient(create_app(store)) as c:
        yield c


def _car(body: bytes) -> tuple[list, list]:
    roots, blocks = read_car(io.BytesIO(body))
    blocks = [(parse_cid(cid), block) for cid, block in blocks]
    for cid, block in blocks:  # every block verifies against its CID
        assert hashlib.sha256(block).digest() == cid.raw_digest
    return [parse_cid(r) for r in roots], blocks


def test_raw_and_car_responses(client, published):
    store, objs = published
    root = objs["file"]
    r = client.get(f"/ipfs/{root}?format=raw")
    assert r.status_code == 200 and r.headers["content-type"] == RAW
    assert r.content == store.get_block(root) and r.headers["etag"] == f'"{root}.raw"'
    assert "attachment" in r.headers["content-disposition"] and r.headers["x-content-type-options"] == "nosniff"
    # Accept header instead of format=; a leaf inside the published DAG is published too
    leaf = store.ls(objs["dir"])["manifest.json"]
    r = client.get(f"/ipfs/{leaf}", headers={"Accept": RAW})
    assert r.status_code == 200 and r.content == b'{"v":1}'
    assert client.get(f"/ipfs/{root}?format=raw", headers={"If-None-Match": f'"{root}.raw"'}).status_code == 304
    head = client.head(f"/ipfs/{root}?format=raw")
    assert head.status_code == 200 and head.content == b""

    r = client.get(f"/ipfs/{root}?format=car")
    assert r.status_code == 200
    assert r.headers["content-type"] == f"{CAR}; version=1; order=dfs; dups=n"
    roots, blocks = _car(r.content)
    assert roots == [root] and [str(c) for c, _ in blocks] == [str(c) for c, _ in store.walk(root)]
    assert b"".join(b for c, b in blocks if c.codec.name == "raw") == objs["data"]  # dfs order = file order
    _, only = _car(client.get(f"/ipfs/{root}", params={"dag-scope": "block"}, headers={"Accept": CAR}).content)
    assert [str(c) for c, _ in only] == [str(root)]
    # entity-bytes: just the blocks covering the range (root + the first 256 KiB leaf)
    _, part = _car(client.get(f"/ipfs/{root}?format=car&entity-bytes=0:1023").content)
    assert len(part) == 2 and part[1][1] == objs["data"][:262144]
    _, tail = _car(client.get(f"/ipfs/{root}?format=car&entity-bytes=-10:*").content)
    assert tail[-1][1].endswith(objs["data"][-10:]) and len(tail) == 2
    # a content path through a directory: the directory block, then the entity
    _, walked = _car(client.get(f"/ipfs/{objs['dir']}/keys/0xabc?format=car").content)
    assert [str(c) for c, _ in walked][:2] == [str(objs["dir"]), str(store.ls(objs["dir"])["keys"])]
    assert walked[-1][1] == b"wrapped"
    # the spec's probe path
    assert client.get("/ipfs/bafkqaaa?format=raw").status_code == 200


def test_only_published_objects_are_served(client, published):
    store, objs = published
    for name in ("secret", "loose"):  # private (though pinned) and unpinned: as if absent
        for fmt in ("raw", "car"):
            r = client.get(f"/ipfs/{objs[name]}?format={fmt}")
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (name, fmt)
    absent = "bafkreibavzicvwfenkiyrkhcqazuupji55lr4rn6mjiajqvun5ubaa2cau"
    assert client.get(f"/ipfs/{absent}?format=raw").status_code == 404
    # publication follows the pins: unpin -> gone, pin -> served
    store.unpin(objs["file"])
    assert client.get(f"/ipfs/{objs['file']}?format=raw").status_code == 404
    store.pin(objs["loose"])
    assert client.get(f"/ipfs/{objs['loose']}?format=raw").status_code == 200


@pytest.mark.parametrize("path,headers,status,code", [
    ("/ipfs/notacid?format=raw", {}, 400, "invalid_cid"),
    ("/ipfs/" + "b" * 300 + "?format=raw", {}, 400, "invalid_cid"),
    ("/ipfs/%2e%2e%2fetc%2fpasswd?format=raw", {}, 400, "invalid_cid"),
    ("/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbd?format=raw", {}, 400, "invalid_cid"),
    ("/ipfs/bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy?format=raw", {}, 400, "invalid_cid"),
    ("/ipfs/{file}", {}, 400, "format_required"),
    ("/ipfs/{file}?format=json", {}, 400, "unsupported_format"),
    ("/ipfs/{file}/x?format=raw", {}, 400, "path_not_allowed"),
    ("/ipfs/{file}?format=car&dag-scope=everything", {}, 400, "bad_dag_scope"),
    ("/ipfs/{file}?format=car&entity-bytes=a:b", {}, 400, "bad_entity_bytes"),
    ("/ipfs/{file}?format=car&car-version=2", {}, 400, "unsupported_car_version"),
    ("/ipfs/{file}?format=raw&x=" + "y" * 2000, {}, 414, "uri_too_long"),
    ("/ipns/example.com", {}, 404, "not_found"),
    ("/", {}, 404, "not_found"),
])
def test_hostile_requests_get_clean_json_errors(client, published, path, headers, status, code):
    _, objs = published
    r = client.get(path.replace("{file}", str(objs["file"])), headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]


def test_methods_and_bodies_refused(client, published):
    _, objs = published
    r = client.post(f"/ipfs/{objs['file']}?format=raw", content=b"x" * 10)
    assert r.status_code in (405, 413) and "error" in r.json()
    r = client.request("GET", f"/ipfs/{objs['file']}?format=raw", content=b"x" * 10)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_not_allowed"
    assert client.delete(f"/ipfs/{objs['file']}").status_code == 405


# -- the client side: real HTTP servers on free ports -------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gateway_server(store):
    """The real gateway app under uvicorn in a thread."""
    import uvicorn

    from zoo_cli.services.gateway import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_fetch_through_gateways_catches_a_liar(published, tmp_path):
    store, objs = published
    with gateway_server(store) as good, lying_gateway() as (liar, hits):
        dead = f"http://127.0.0.1:{_free_port()}"
        other = EmbeddedStore(tmp_path / "b", fsync=False, gateways=(dead, liar, good))
        try:
            assert other.read(objs["file"]) == objs["data"]  # every block hash-checked
            assert hits and liar in other.gateways.liars  # the liar was asked, caught, then skipped
            asked = len(hits)
            assert other.read(objs["file"]) == objs["data"] and len(hits) == asked  # cached locally now
            other.pin(objs["dir"])  # pinning fetches the missing blocks of the DAG
            assert other.ls(objs["dir"])["manifest.json"]
            with pytest.raises(NotFound) as exc:  # private objects are not served: clear error
                other.read(objs["secret"])
            assert "no gateway served it" in exc.value.message and "not found" in exc.value.message
            assert "wrong bytes" in exc.value.message or "skipped" in exc.value.message
        finally:
            other.close()
    # only a liar: nothing wrong is ever returned or stored
    with lying_gateway() as (liar, _hits):
        alone = EmbeddedStore(tmp_path / "c", fsync=False, gateways=(liar,))
        try:
            with pytest.raises(NotFound, match="hash mismatch"):
                alone.read(objs["file"])
            assert not alone.has(objs["file"])
        finally:
            alone.close()

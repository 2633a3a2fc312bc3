"""workflows/generation.py: the container's named parts (one place that adds and strips the
``adapter/``/``policy/`` prefixes) and the ipfs:// URIs of public metadata."""

from __future__ import annotations

import ast
from pathlib import Path

from zoo_cli.workflows.generation import ADAPTER, POLICY, part, parts
from zoo_cli.workflows.records import cid_of_uri, ipfs_uri

WORKFLOWS = Path(__file__).resolve().parents[2] / "zoo_cli" / "workflows"


def test_parts_round_trip_and_nesting():
    adapter = {"adapter_config.json": b"{}", "experts/p0/adapter_model.safetensors": b"w"}
    policy = {"policy.safetensors": b"p"}
    flat = parts(adapter=adapter, policy=policy)
    assert flat == {"adapter/adapter_config.json": b"{}", "adapter/experts/p0/adapter_model.safetensors": b"w",
                    "policy/policy.safetensors": b"p"}
    assert part(flat, ADAPTER) == adapter and part(flat, POLICY) == policy
    assert part({"adapterx/a": b"", "data.jsonl": b""}, ADAPTER) == {}  # a prefix, not a substring
    assert parts(adapter={}, policy=None) == {}


def test_ipfs_uris():
    assert ipfs_uri("bafy") == "ipfs://bafy" and cid_of_uri("ipfs://bafy") == "bafy"
    assert cid_of_uri("https://x/bafy") is None and cid_of_uri("") is None


def test_no_workflow_strips_or_builds_prefixes_by_hand():
    """The copies issue 18 found (``k[len("adapter/"):]``, ``"ipfs://" + …``) stay gone."""
    found = []
    for p in WORKFLOWS.glob("*.py"):
        if p.name in ("generation.py", "records.py"):
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Constant) and node.value in ("adapter/", "policy/", "ipfs://"):
                found.append(f"{p.name}:{node.lineno} {node.value!r}")
    assert found == []

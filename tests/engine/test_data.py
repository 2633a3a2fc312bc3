"""Schemas, validation errors, synth determinism and the dataset commitment (no torch)."""

from __future__ import annotations

import json

import pytest

from zoo_cli.engine.data import (
    LineError,
    check_file,
    dataset_from_records,
    load_records,
    merkle_root,
    record_hash,
    split,
    write_jsonl,
)
from zoo_cli.engine.schemas import DOMAINS, example_text, parse_record
from zoo_cli.engine.synth import synth, synth_mixed
from zoo_cli.errors import BadInput


@pytest.mark.parametrize("domain", DOMAINS)
def test_synth_is_deterministic_valid_and_learnable(domain):
    a, b = synth(domain, 300, seed=5), synth(domain, 300, seed=5)
    assert a == b
    assert synth(domain, 300, seed=6) != a
    recs = [parse_record(r) for r in a]
    prompts = {example_text(r)[0] for r in recs}
    assert len(prompts) > 50  # varied contexts
    targets = [example_text(r)[1] for r in recs]
    # a real policy: the most common action is not everything, but far above uniform
    top = max(targets.count(t) for t in set(targets))
    assert 1 < len(set(targets)) and top < 0.8 * len(targets)


def test_defi_prompt_matches_demo_style():
    rec = parse_record(synth("defi", 1, seed=0)[0])
    prompt, target = example_text(rec)
    assert prompt.startswith("pool=") and " apy=" in prompt and " risk=" in prompt
    assert prompt.endswith(" ->")
    _action, token = target.split()
    assert token in rec.market.pool.split("/")


def test_yield_farmer_policy_is_the_documented_rule():
    from zoo_cli.engine.synth import policy

    assert policy("defi", "yield_farmer", {"pool": "ETH/USDC", "apy": 12.0, "risk": "low"}) == ("stake", 0)
    assert policy("defi", "yield_farmer", {"pool": "ETH/USDC", "apy": 4.2, "risk": "low"}) == ("provide_liquidity", 0)
    # another persona gets another (stable) policy
    other = [policy("defi", "degen", {"pool": "ETH/USDC", "apy": a, "risk": r})
             for a in (1.0, 5.0, 20.0) for r in ("low", "medium", "high")]
    assert other == [policy("defi", "degen", {"pool": "ETH/USDC", "apy": a, "risk": r})
                     for a in (1.0, 5.0, 20.0) for r in ("low", "medium", "high")]


def test_synth_rejects_bad_arguments():
    with pytest.raises(BadInput):
        synth("poker", 10, 0)
    with pytest.raises(BadInput):
        synth("defi", 0, 0)


def test_mixed_has_every_domain():
    recs = synth_mixed(20, seed=0)
    assert len(recs) == 100
    assert {r["domain"] for r in recs} == set(DOMAINS)


def _write(tmp_path, lines: list[bytes], name="d.jsonl"):
    p = tmp_path / name
    p.write_bytes(b"".join(lines))
    return p


def test_check_file_reports_every_bad_line(tmp_path):
    good = [json.dumps(r).encode() + b"\n" for r in synth("defi", 3, seed=0)]
    bad_action = dict(synth("defi", 1, seed=1)[0], action="yolo")
    lines = [
        good[0],
        b"{not json\n",
        json.dumps(bad_action).encode() + b"\n",
        good[1],
        b'{"domain": "poker"}\n',
        b"\xff\xfe garbage\n",
        b"[1, 2]\n",
        b"\n",
        good[2],
        json.dumps({"domain": "nft"}).encode() + b"\n",
    ]
    errors = check_file(_write(tmp_path, lines))
    assert [e.line for e in errors] == [2, 3, 5, 6, 7, 10]
    reasons = {e.line: e.reason for e in errors}
    assert "invalid JSON" in reasons[2]
    assert "action" in reasons[3]
    assert "unknown domain 'poker'" in reasons[5]
    assert "UTF-8" in reasons[6]
    assert "object" in reasons[7]
    assert "collection" in reasons[10]


def test_huge_single_line_is_one_error_not_a_memory_spike(tmp_path):
    p = tmp_path / "big.jsonl"
    with open(p, "wb") as fh:
        fh.write(json.dumps(synth("gaming", 1, seed=0)[0]).encode() + b"\n")
        fh.write(b'{"domain": "defi", "x": "' + b"a" * (50 * 1024 * 1024) + b'"}\n')
        fh.write(json.dumps(synth("gaming", 1, seed=1)[0]).encode() + b"\n")
    errors = check_file(p)
    assert len(errors) == 1 and errors[0].line == 2 and "too long" in errors[0].reason
    ds = load_records(p, skip_invalid=True)
    assert ds.ops == 2 and ds.skipped == 1


def test_load_refuses_bad_lines_unless_skipping(tmp_path):
    good = [json.dumps(r).encode() + b"\n" for r in synth("defi", 5, seed=0)]
    p = _write(tmp_path, good[:2] + [b"oops\n"] + good[2:])
    with pytest.raises(BadInput) as exc:
        load_records(p)
    assert "line 3" in exc.value.message and "zoo data check" in exc.value.hint
    ds = load_records(p, skip_invalid=True)
    assert ds.ops == 5 and ds.skipped == 1 and ds.errors == [LineError(3, ds.errors[0].reason)]
    assert ds.domains == ("defi",)


def test_empty_missing_and_wrong_domain_files(tmp_path):
    with pytest.raises(BadInput, match="empty"):
        load_records(_write(tmp_path, [], "e.jsonl"))
    with pytest.raises(BadInput, match="no such file"):
        load_records(tmp_path / "nope.jsonl")
    with pytest.raises(BadInput, match="no records"):
        check_file(_write(tmp_path, [b"\n", b"  \n"], "blank.jsonl"))
    p = _write(tmp_path, [json.dumps(r).encode() + b"\n" for r in synth("nft", 3, seed=0)], "n.jsonl")
    with pytest.raises(BadInput, match="expected 'defi'"):
        load_records(p, domain="defi")


def test_merkle_root_commits_to_content_and_order(tmp_path):
    recs = synth("social", 7, seed=3)
    ds = dataset_from_records(recs)
    assert len(ds.merkle_root) == 32 and ds.ops == 7
    p = tmp_path / "s.jsonl"
    write_jsonl(recs, p)
    assert load_records(p).merkle_root == ds.merkle_root  # file round trip: same commitment
    assert dataset_from_records(recs[::-1]).merkle_root != ds.merkle_root
    changed = [dict(recs[0], action="share" if recs[0]["action"] != "share" else "like")] + recs[1:]
    assert dataset_from_records(changed).merkle_root != ds.merkle_root
    # key order and whitespace do not matter (canonical JSON)
    shuffled_keys = [dict(reversed(list(r.items()))) for r in recs]
    assert dataset_from_records(shuffled_keys).merkle_root == ds.merkle_root
    # structure: odd leaf carried up
    leaves = [record_hash(r) for r in ds.records]
    import hashlib

    h = lambda a, b: hashlib.sha256(a + b).digest()
    l1 = [h(leaves[0], leaves[1]), h(leaves[2], leaves[3]), h(leaves[4], leaves[5]), leaves[6]]
    assert merkle_root(leaves) == h(h(l1[0], l1[1]), h(l1[2], l1[3]))


def test_split_is_deterministic_and_order_independent():
    recs = dataset_from_records(synth("defi", 1000, seed=0)).records
    train, held = split(recs)
    assert 60 <= len(held) <= 140 and len(train) + len(held) == 1000
    _, held2 = split(recs[::-1])
    assert {record_hash(r) for r in held} == {record_hash(r) for r in held2}

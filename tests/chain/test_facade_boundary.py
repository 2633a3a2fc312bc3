"""Issue 18 item 1: workflows speak to the contracts only through the typed facade
(``zoo_cli/chain/zoo.py``, ``session.zoo``): no workflow module calls ``.functions.`` on a
web3 contract.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parents[2] / "zoo_cli" / "workflows"


def _offenders(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if ".functions." in line]


@pytest.mark.parametrize("path", sorted(WORKFLOWS.rglob("*.py")),
                         ids=lambda p: p.name)
def test_workflows_call_contracts_only_through_the_facade(path):
    lines = _offenders(path.read_text())
    assert not lines, f"workflows/{path.name} lines {lines} call a contract's .functions: use session.zoo"


def test_the_checker_sees_a_direct_contract_call():
    assert _offenders("x = 1\nowner = s.call(s.nft.functions.ownerOf(1))\n") == [2]


# a token record is a ModelRecord (or a ListRow): its fields, never the Solidity struct's names
_RECORD_KEY = re.compile(
    # the struct's camelCase names on any record-like name, and every struct name on `rec`
    r"\b(?:rec|record|recs\[\d+\]|r|row|model|parent)\[[\"'](?:tokenId|modelHash|trainingOps|lastUpdated|"
    r"baseModel|ledgerHead|ledgerCount|metadataURI|earnedSpecialization)[\"']\]"
    r"|\b(?:rec|recs\[\d+\])\[[\"'](?:owner|generation|performance|specialization|parents|verified|creator)[\"']\]")


def _record_subscripts(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if _RECORD_KEY.search(line)]


@pytest.mark.parametrize("path", sorted(WORKFLOWS.rglob("*.py")), ids=lambda p: p.name)
def test_workflows_read_token_records_by_typed_field(path):
    lines = _record_subscripts(path.read_text())
    assert not lines, f"workflows/{path.name} lines {lines} index a token record by its Solidity name: use ModelRecord"


def test_the_checker_sees_a_solidity_named_record_key():
    assert _record_subscripts('cid = cid_of(rec["modelHash"])\nx = rec.model_hash\nrows[0]["owner"]\n') == [1]

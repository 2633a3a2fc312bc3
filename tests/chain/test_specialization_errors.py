"""The zk specialization reverts decode by name, with the exit code and hint CLI.md gives them."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from zoo_cli.chain.errors import decode_revert
from zoo_cli.errors import EXIT_FAILED, EXIT_NOT_FOUND

TASK = keccak(text="nft")


@pytest.mark.parametrize(("sig", "args", "code"), [
    ("SpecializationNoZkModule()", [], EXIT_NOT_FOUND),
    ("SpecializationZkNotProven(uint256)", [7], EXIT_NOT_FOUND),
    ("SpecializationZkStale(uint256,uint256,uint256)", [7, 0, 1], EXIT_FAILED),
    ("SpecializationZkWrongTasks(uint256,bytes32,bytes32)", [7, b"\x01" * 32, TASK], EXIT_FAILED),
    ("SpecializationZkTooFewRecords(uint256,uint256,uint256)", [7, 40, 64], EXIT_FAILED),
    ("SpecializationZkScoreTooLow(uint256,uint256,uint256)", [7, 4285, 6000], EXIT_FAILED),
])
def test_zk_specialization_errors_decode_with_hint(sig, args, code):
    types = sig[sig.index("(") + 1:-1].split(",") if args else []
    err = decode_revert(keccak(text=sig)[:4] + encode(types, args))
    assert err.error_name == sig.split("(")[0] and err.code == code
    assert "zoo prove TOKEN --tasks DOMAIN" in err.hint or "zoo deploy" in err.hint
    if args:
        assert next(iter(err.decoded_args.values())) == 7

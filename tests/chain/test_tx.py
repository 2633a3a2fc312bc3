"""Transaction pipeline on both backends: simulate -> sign -> send -> receipt -> events."""

from __future__ import annotations

import pytest

from zoo_cli.errors import BackendUnreachable, OperationFailed


def _probe(client, signer, art, initial=7):
    from zoo_cli.chain import tx

    address = tx.deploy(client, signer, art, initial)
    return client.w3.eth.contract(address=address, abi=art["abi"])


def test_chain_id_and_dev_funds(client):
    from zoo_cli.chain.keystore import DEV_ADDRESSES

    assert client.chain_id in (1337, 31337)
    assert client.w3.eth.chain_id == client.chain_id
    assert client.w3.eth.get_balance(DEV_ADDRESSES[9]) > 1000 * 10**18


def test_send_decodes_events_and_nonces_in_a_row(client, dev_signer, probe_artifact):
    from zoo_cli.chain import tx

    probe = _probe(client, dev_signer, probe_artifact)
    assert tx.call(probe.functions.value()) == 7
    start = client.w3.eth.get_transaction_count(dev_signer.address)
    results = [tx.send(client, dev_signer, probe.functions.store(v)) for v in (1, 2, 3)]
    assert client.w3.eth.get_transaction_count(dev_signer.address) == start + 3
    for v, res in zip((1, 2, 3), results):
        assert res.receipt["status"] == 1 and res.gas_used > 0
        ev = res.event("Stored")
        assert ev.args == {"who": dev_signer.address, "value": v}
        assert ev.address == probe.address
        assert res.tx_hash.startswith("0x") and len(res.tx_hash) == 66
    assert len({r.block_number for r in results}) == 3
    assert tx.call(probe.functions.value()) == 3


def test_revert_is_decoded_and_nothing_sent(client, dev_signer, probe_artifact):
    from eth_account import Account

    from zoo_cli.chain import tx
    from zoo_cli.chain.errors import ContractRevert
    from zoo_cli.chain.keystore import DEV_PRIVATE_KEYS

    probe = _probe(client, dev_signer, probe_artifact)
    other = Account.from_key(DEV_PRIVATE_KEYS[1])
    nonce = client.w3.eth.get_transaction_count(other.address)
    block = client.w3.eth.block_number
    with pytest.raises(ContractRevert) as exc:
        tx.send(client, other, probe.functions.store(5))
    err = exc.value
    assert err.error_name == "ProbeNotOwner" and err.code == 4
    assert err.args_dict == {"tokenId": 5, "caller": other.address}
    assert err.message == f"reverted: ProbeNotOwner(tokenId=5, caller={other.address})"
    assert client.w3.eth.get_transaction_count(other.address) == nonce
    assert client.w3.eth.block_number == block

    with pytest.raises(ContractRevert) as exc:
        tx.send(client, dev_signer, probe.functions.store(5000))
    assert exc.value.error_name == "ProbeTooBig" and exc.value.code == 1

    with pytest.raises(ContractRevert) as exc:
        tx.call(probe.functions.get(9))
    assert exc.value.error_name == "ProbeNonexistentToken" and exc.value.code == 3

    with pytest.raises(ContractRevert) as exc:
        tx.send(client, dev_signer, probe.functions.fail())
    assert exc.value.message == "reverted: plain reason" and exc.value.code == 1


def test_insufficient_funds(client, dev_signer, probe_artifact):
    from eth_account import Account

    from zoo_cli.chain import tx

    probe = _probe(client, dev_signer, probe_artifact)
    poor = Account.create()
    with pytest.raises(OperationFailed) as exc:
        tx.send(client, poor, probe.functions.deposit(), value=10**18)
    assert "insufficient funds" in exc.value.message and exc.value.code == 1


def test_chain_id_mismatch_refuses_to_sign(client, dev_signer, probe_artifact):
    from dataclasses import replace

    from zoo_cli.chain import tx

    probe = _probe(client, dev_signer, probe_artifact)
    client.network = replace(client.network, chain_id=999)
    nonce = client.w3.eth.get_transaction_count(dev_signer.address)
    with pytest.raises(BackendUnreachable) as exc:
        tx.send(client, dev_signer, probe.functions.store(1))
    assert "chain id mismatch" in exc.value.message and exc.value.code == 5
    assert client.w3.eth.get_transaction_count(dev_signer.address) == nonce


def test_fees_are_eip1559(client):
    from zoo_cli.chain import tx

    f = tx.fees(client)
    assert f["type"] == 2 and f["maxFeePerGas"] >= f["maxPriorityFeePerGas"] > 0


def test_chain_time_now_and_advance(client, dev_signer, probe_artifact):
    import time

    from zoo_cli.chain import tx

    probe = _probe(client, dev_signer, probe_artifact)
    now = client.now()
    assert abs(now - time.time()) < 60 or client.embedded is False
    # eth_call at "pending" sees the next block's time, not a stale last block
    assert abs(tx.call(probe.functions.nowTs()) - client.now()) <= 2
    latest = client.w3.eth.get_block("latest")["timestamp"]
    before = client.now()
    new_time = client.advance_time(3 * 86400)
    assert new_time >= before + 3 * 86400 - 1 and new_time >= latest + 3 * 86400
    assert client.now() > new_time
    assert tx.call(probe.functions.nowTs()) >= latest + 3 * 86400
    # blocks keep increasing timestamps after the jump
    res = tx.send(client, dev_signer, probe.functions.store(2))
    assert client.w3.eth.get_block(res.block_number)["timestamp"] >= new_time


def test_get_logs_with_filters(client, dev_signer, probe_artifact):
    from zoo_cli.chain import tx

    probe = _probe(client, dev_signer, probe_artifact)
    first = tx.send(client, dev_signer, probe.functions.store(11))
    tx.send(client, dev_signer, probe.functions.store(12))
    logs = probe.events.Stored.get_logs(from_block=first.block_number)
    assert [log["args"]["value"] for log in logs] == [11, 12]
    logs = probe.events.Stored.get_logs(from_block=first.block_number,
                                        to_block=first.block_number)
    assert [log["args"]["value"] for log in logs] == [11]
    raw = client.w3.eth.get_logs({"fromBlock": 0, "address": probe.address,
                                  "topics": [logs[0]["topics"][0] if "topics" in logs[0]
                                             else probe.events.Stored().topic]})
    assert len(raw) == 2

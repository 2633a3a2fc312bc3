"""The embedded devnet across processes: persistence, concurrent writers, timing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SENDER = textwrap.dedent("""
    import sys, time
    t0 = time.perf_counter()
    from zoo_cli.config import load_settings
    from zoo_cli.chain.client import open_chain
    from zoo_cli.chain.keystore import DEV_PRIVATE_KEYS, DEV_ADDRESSES
    from zoo_cli.chain import tx
    from eth_account import Account
    home, idx, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    acct = Account.from_key(DEV_PRIVATE_KEYS[idx])
    with open_chain(load_settings(home=home)) as c:
        t1 = time.perf_counter()
        for _ in range(count):
            tx.send(c, acct, {"to": DEV_ADDRESSES[9], "data": "0x"}, value=1)
        t2 = time.perf_counter()
    print(f"{t2 - t0:.3f} {(t2 - t1) / max(count, 1):.4f}")
""")


def _run(home, idx, count):
    return subprocess.Popen([sys.executable, "-c", SENDER, str(home), str(idx), str(count)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _client(home):
    from zoo_cli.chain.client import open_chain
    from zoo_cli.config import load_settings

    return open_chain(load_settings(home=home))


def test_persistent_and_concurrent_writers(tmp_path):
    from zoo_cli.chain.keystore import DEV_ADDRESSES

    home = tmp_path / "home"
    with _client(home) as c:  # creates the chain
        assert c.chain_id == 1337 and c.w3.eth.block_number == 0
        start9 = c.w3.eth.get_balance(DEV_ADDRESSES[9])
    procs = [_run(home, i, 6) for i in (1, 2, 3)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    with _client(home) as c:
        w3 = c.w3
        assert w3.eth.block_number == 18
        for i in (1, 2, 3):
            assert w3.eth.get_transaction_count(DEV_ADDRESSES[i]) == 6
        assert w3.eth.get_balance(DEV_ADDRESSES[9]) == start9 + 18
        stamps = [w3.eth.get_block(n)["timestamp"] for n in range(19)]
        assert stamps == sorted(stamps) and len(set(stamps)) == 19
        assert abs(stamps[-1] - time.time()) < 120


def test_reader_sees_other_process_blocks(tmp_path):
    home = tmp_path / "home"
    with _client(home) as reader:
        assert reader.w3.eth.block_number == 0
        p = _run(home, 4, 2)
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert reader.w3.eth.block_number == 2  # same long-lived process, fresh head


def test_time_offset_is_shared(tmp_path):
    home = tmp_path / "home"
    with _client(home) as c:
        before = c.now()
        c.advance_time(7 * 86400)
    with _client(home) as c:
        assert c.now() >= before + 7 * 86400
        assert c.now() <= time.time() + 7 * 86400 + 60


def test_fresh_process_one_tx_timing(tmp_path):
    """Measured and printed (pytest -s): one fresh process that opens the chain and sends a tx."""
    home = tmp_path / "home"
    _client(home).close()
    t0 = time.perf_counter()
    p = _run(home, 5, 1)
    _out, err = p.communicate(timeout=120)
    wall = time.perf_counter() - t0
    assert p.returncode == 0, err
    p = _run(home, 6, 20)
    out20, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    per_tx = float(out20.split()[1])
    print(f"\nfresh process + 1 tx: {wall:.2f}s wall; per tx (20 in a row): {per_tx * 1000:.1f} ms")
    assert wall < 15 and per_tx < 1.0

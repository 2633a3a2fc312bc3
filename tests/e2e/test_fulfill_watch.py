"""`zoo market fulfill --watch`: a seller agent that delivers keys without anyone at the
keyboard, survives SIGKILL mid-delivery without delivering twice, and stops cleanly on
SIGTERM (exit 0, one JSON summary) and SIGINT (exit 130).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from e2e.sealed import sealed_token
from e2e.test_market import order, session
from e2e.zoocli import ZOO, Zoo

pytestmark = pytest.mark.parametrize("zoo_env", ["embedded"], indirect=True)


def _watcher(zoo: Zoo, env: dict | None = None) -> subprocess.Popen:
    full = zoo.base_env()
    full.update(env or {})
    return subprocess.Popen(ZOO + ["--json", "market", "fulfill", "--watch", "--interval", "0.3"],
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=str(zoo.home.parent))


def _wait_status(zoo: Zoo, oid: int, status: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        o = order(zoo, oid)
        if o["status"] == status:
            return o
        time.sleep(0.3)
    raise AssertionError(f"order {oid} still {o['status']}, expected {status}")


def _deliveries(zoo: Zoo, oid: int) -> int:
    with session(zoo) as s:
        return len(list(s.market.events.KeyDelivered().get_logs(from_block=0, argument_filters={"orderId": oid})))


def _stop(proc: subprocess.Popen, sig: int) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def test_watch_delivers_new_orders_and_survives_sigkill(zoo_env: Zoo):
    zoo = zoo_env
    sale, _ = sealed_token(zoo)
    zoo("market", "sell", sale, "--price", "0.01eth")

    # 1. a watcher that dies (SIGKILL) right after signing its delivery, before sending it
    w = _watcher(zoo, {"ZOO_KILL_AT": "deliver:signed"})
    try:
        oid = zoo("market", "buy", sale, account="dev2").data["order_id"]
        w.wait(timeout=90)
    finally:
        if w.poll() is None:
            w.kill()
    assert w.returncode == -signal.SIGKILL, w.stderr.read()
    assert order(zoo, oid)["status"] == "pending" and _deliveries(zoo, oid) == 0

    # 2. restarted: resumes the journaled delivery (same transaction), then keeps watching
    w = _watcher(zoo)
    try:
        _wait_status(zoo, oid, "delivered")
        lease, _ = sealed_token(zoo)
        zoo("lease", "offer", lease, "--price-per-day", "0.01eth")
        lease_oid = zoo("lease", "take", lease, "--for", "1d", account="dev3").data["order_id"]
        _wait_status(zoo, lease_oid, "delivered")  # nobody ran `market fulfill`
        time.sleep(1.0)  # a few more polls: nothing is delivered again
    finally:
        code, out, err = _stop(w, signal.SIGTERM)
    assert code == 0, err
    summary = json.loads(out)
    assert [d["order_id"] for d in summary["delivered"]] == [oid, lease_oid]
    assert summary["stopped_by"] == "SIGTERM"
    assert _deliveries(zoo, oid) == 1 and _deliveries(zoo, lease_oid) == 1
    assert not list((zoo.home / "journal").glob("fulfill-*.json"))  # no half-done delivery left

    # the buyer's CLI checks the delivered key and confirms
    assert zoo("market", "confirm", oid, account="dev2").data["status"] == "completed"

    # 3. a restart finds nothing to do; Ctrl-C ends it with 130 and an empty summary
    w = _watcher(zoo)
    time.sleep(1.5)
    code, out, err = _stop(w, signal.SIGINT)
    assert code == 130, err
    assert json.loads(out)["delivered"] == [] and json.loads(out)["stopped_by"] == "SIGINT"
    assert _deliveries(zoo, oid) == 1 and _deliveries(zoo, lease_oid) == 1

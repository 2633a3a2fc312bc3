"""``zoo market fulfill --watch``: a seller agent that delivers keys for new orders as they appear.

It polls the Marketplace's ``OrderOpened`` logs from a cursor block, keeps the ids of the
account's orders that still wait for a key, and delivers each through the same journaled
step as ``zoo market fulfill`` (``fulfill-<order>`` journal: the envelope is stored once,
the ``deliverKey`` transaction is signed and sent once). Its state — the cursor and the
open order ids — lives in ``$ZOO_HOME/watch/fulfill-<network>-<chainId>-<address>.json``,
written atomically after every poll. A SIGKILL at any moment is therefore harmless: a
restart re-reads every open order's status on-chain, resumes a half-done delivery from
its journal, and never delivers twice (the contract also refuses a second delivery).

Polling backs off while idle (``interval`` × 1.5 per idle poll, at most ``max_interval``)
and after errors (× 2, at most ``ERROR_BACKOFF_MAX``: an unreachable node is retried, not
fatal); a new order resets it. The loop ends when ``stop`` is set (the command sets it on
SIGINT/SIGTERM), after the delivery in progress.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from zoo_cli.config import Settings
from zoo_cli.errors import (
    BackendUnreachable,
    NotFound,
    PermissionDenied,
    VerificationFailed,
    ZooError,
)
from zoo_cli.fsutil import atomic_write
from zoo_cli.workflows.session import Session

LOG_CHUNK = 5_000  # blocks per eth_getLogs request
ERROR_BACKOFF_MAX = 60.0

#: on_event(kind, data): kind is one of started, delivered, skipped, error, idle
EventSink = Callable[[str, dict], None]


def _state_path(s: Session) -> Path:
    return s.settings.home / "watch" / f"fulfill-{s.client.deployment_name}-{s.address.lower()}.json"


def _load_state(path: Path, start_block: int) -> dict:
    try:
        data = json.loads(path.read_text())
        return {"cursor": int(data["cursor"]), "open": sorted({int(o) for o in data.get("open", [])})}
    except FileNotFoundError:
        return {"cursor": start_block - 1, "open": []}
    except (OSError, ValueError, KeyError, TypeError):  # damaged: rescan from the deployment
        return {"cursor": start_block - 1, "open": []}


def _save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(state).encode(), mode=0o600)


def _new_orders(s: Session, state: dict) -> int:
    """Add the ids of orders opened since the cursor (any seller: filtered on read); returns
    how many were added and moves the cursor to the latest block."""
    latest = int(s.w3.eth.block_number)
    added = 0
    start = state["cursor"] + 1
    event = s.market.events.OrderOpened()
    while start <= latest:
        end = min(latest, start + LOG_CHUNK - 1)
        for log in event.get_logs(from_block=start, to_block=end):
            if str(log["args"]["seller"]).lower() == s.address.lower():
                oid = int(log["args"]["orderId"])
                if oid not in state["open"]:
                    state["open"].append(oid)
                    added += 1
        start = end + 1
        state["cursor"] = end
    state["open"].sort()
    return added


def _poll(s: Session, state: dict, result: dict, on_event: EventSink, stop: threading.Event,
          reported: set) -> bool:
    """One poll: collect new orders, try to deliver every open one. True if anything happened."""
    from zoo_cli.workflows import market

    activity = _new_orders(s, state) > 0
    for oid in list(state["open"]):
        if stop.is_set():
            break
        o = market.read_order(s, oid)
        if o["seller"].lower() != s.address.lower() or o["status_id"] != market.PENDING:
            state["open"].remove(oid)
            s.journal("fulfill", oid).finish()  # a delivery finished by an earlier run
            continue
        try:
            done = market._deliver(s, o)
        except (NotFound, PermissionDenied, VerificationFailed) as err:
            # e.g. the buyer has not published keys yet: retried at the next poll, reported once
            if s.now() > o["created_at"] + market.delivery_timeout(s):
                state["open"].remove(oid)
            if (oid, err.message) not in reported:
                reported.add((oid, err.message))
                skip = {**market.order_json(o), "reason": err.message, "hint": err.hint or ""}
                result["skipped"].append(skip)
                on_event("skipped", skip)
            continue
        state["open"].remove(oid)
        result["delivered"].append(done)
        on_event("delivered", done)
        activity = True
    return activity


def watch(settings: Settings, stop: threading.Event, on_event: EventSink, *, interval: float = 2.0,
          max_interval: float = 10.0) -> dict:
    """Deliver keys for the account's orders until ``stop`` is set; returns what was done:
    ``{delivered: [...], skipped: [...], polls, errors}``."""
    result: dict = {"delivered": [], "skipped": [], "polls": 0, "errors": 0}
    reported: set = set()
    with Session(settings) as s:
        _ = s.signer  # unlock now: a wrong password ends the watcher at once, not at the first order
        path = _state_path(s)
        state = _load_state(path, s.zoo.deployment_block())
        on_event("started", {"account": s.address, "network": s.client.network.name,
                             "from_block": state["cursor"] + 1, "open": list(state["open"])})
        delay = interval
        while not stop.is_set():
            try:
                busy = _poll(s, state, result, on_event, stop, reported)
                _save_state(path, state)
                delay = interval if busy else min(delay * 1.5, max(max_interval, interval))
            except ZooError as err:
                if not isinstance(err, BackendUnreachable) and err.code in (2, 4):
                    raise  # bad input or permission: retrying cannot help
                result["errors"] += 1
                delay = min(max(delay, interval) * 2, ERROR_BACKOFF_MAX)
                on_event("error", {"message": err.message, "retry_in_s": round(delay, 1)})
            except Exception as err:  # noqa: BLE001 - node/transport failure: back off and retry
                result["errors"] += 1
                delay = min(max(delay, interval) * 2, ERROR_BACKOFF_MAX)
                on_event("error", {"message": f"{type(err).__name__}: {err}"[:300], "retry_in_s": round(delay, 1)})
            result["polls"] += 1
            stop.wait(delay)
    return result

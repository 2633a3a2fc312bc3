"""Crash-safe, resumable workflows (ARCHITECTURE.md "Crash safety").

A workflow runs as named steps. Before each external side effect the journal records
what is about to happen (for a transaction: the signed raw transaction and its hash),
and after it the result. Rerunning the same command finds the journal by its key and
resumes: finished steps return their recorded result (journaled receipts are re-checked
against the chain), an interrupted transaction is looked up by hash and re-broadcast
if the node never saw it. The journal file is removed when the workflow completes.

Journal files live in ``$ZOO_HOME/journal/`` with mode 0600, written atomically. They hold
no secrets: no content key, password or private key is ever a step result (a fresh content
key is wrapped into its container before the step that made it is recorded; a resumed run
unwraps it from there).

Fault injection for tests: ``ZOO_KILL_AT=<step>`` (or ``<step>:before``) makes the
process SIGKILL itself right after (before) that step's side effect.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zoo_cli.fsutil import atomic_write


def journal_key(*parts: Any) -> str:
    """A stable key for one command invocation (same command + arguments -> same key)."""
    blob = json.dumps([str(p) for p in parts], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _maybe_kill(step: str, when: str) -> None:
    target = os.environ.get("ZOO_KILL_AT")
    if not target:
        return
    name, _, phase = target.partition(":")
    if name == step and (phase or "after") == when:
        os.kill(os.getpid(), signal.SIGKILL)


class Journal:
    """One workflow's journal: ``$ZOO_HOME/journal/<kind>-<key>.json``."""

    def __init__(self, directory: Path, kind: str, key: str, meta: dict | None = None):
        self.path = Path(directory) / f"{kind}-{key}.json"
        self.kind = kind
        self.resumed = self.path.exists()
        if self.resumed:
            self.data = json.loads(self.path.read_text())
        else:
            self.data = {"kind": kind, "key": key, "meta": meta or {}, "created": int(time.time()), "steps": {}}

    # -- persistence --------------------------------------------------------------
    def _save(self) -> None:
        atomic_write(self.path, json.dumps(self.data, indent=1, default=str).encode(), mode=0o600)

    def get(self, step: str) -> dict | None:
        return self.data["steps"].get(step)

    def done(self, step: str) -> bool:
        entry = self.get(step)
        return bool(entry and entry.get("status") == "done")

    def result(self, step: str) -> Any:
        entry = self.get(step)
        return entry.get("result") if entry else None

    def record(self, step: str, status: str, **fields: Any) -> None:
        entry = self.data["steps"].setdefault(step, {})
        entry.update(fields)
        entry["status"] = status
        self._save()

    # -- steps --------------------------------------------------------------------
    def step(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run a local, idempotent step once; its JSON-able result is recorded."""
        if self.done(name):
            return self.result(name)
        _maybe_kill(name, "before")
        result = fn()
        self.record(name, "done", result=result)
        _maybe_kill(name, "after")
        return result

    def tx(self, name: str, client, sign: Callable[[], tuple[bytes, str]], decode: Callable[[Any], Any],
           lock: Callable[[], Any] | None = None) -> Any:
        """Send a transaction exactly once.

        ``sign()`` returns (raw signed tx, tx hash) — built and signed but not sent;
        ``decode(receipt)`` turns the receipt into the recorded JSON-able result;
        ``lock()`` is held from signing to broadcast (the devnet's writer lock).
        """
        from contextlib import nullcontext

        from zoo_cli.chain.tx import broadcast_raw, wait_receipt
        from zoo_cli.errors import OperationFailed, ZooError

        def mined(tx_hash: str):
            receipt = wait_receipt(client, tx_hash)
            if receipt is None:
                raise OperationFailed(f"transaction {tx_hash} not mined yet",
                                      hint="rerun the same command later; it resumes from the journal")
            return receipt

        entry = self.get(name)
        if entry and entry.get("status") == "done":
            # re-check: a node restarted from an older snapshot may have dropped it
            receipt = wait_receipt(client, entry["tx_hash"], timeout=0)
            if receipt is not None:
                return entry["result"]
            if entry.get("raw"):
                broadcast_raw(client, bytes.fromhex(entry["raw"]))
                receipt = mined(entry["tx_hash"])
                result = decode(receipt)
                self.record(name, "done", result=result)
                return result
        if entry and entry.get("status") == "signed":
            receipt = wait_receipt(client, entry["tx_hash"], timeout=0)
            if receipt is None:
                broadcast_raw(client, bytes.fromhex(entry["raw"]))
                receipt = mined(entry["tx_hash"])
        else:
            _maybe_kill(name, "before")
            with (lock() if lock else nullcontext()):
                try:
                    raw, tx_hash = sign()
                except ZooError:
                    # refused in simulation: if this workflow never sent a transaction there is
                    # nothing on-chain to resume from, so leave no journal behind
                    if not any(e.get("tx_hash") for e in self.data["steps"].values()):
                        self.finish()
                    raise
                self.record(name, "signed", raw=raw.hex(), tx_hash=tx_hash)
                _maybe_kill(name, "signed")
                broadcast_raw(client, raw)
            _maybe_kill(name, "sent")
            receipt = mined(tx_hash)
        result = decode(receipt)
        self.record(name, "done", result=result)
        _maybe_kill(name, "after")
        return result

    def forget(self, *steps: str) -> None:
        """Drop the recorded results of local steps so they run again (never a sent tx)."""
        for name in steps:
            entry = self.data["steps"].get(name)
            if entry and entry.get("tx_hash"):
                raise ValueError(f"journal step {name!r} sent a transaction and cannot be forgotten")
            self.data["steps"].pop(name, None)
        self._save()

    def finish(self) -> None:
        """The workflow completed (or never started on-chain): nothing is left to resume."""
        import shutil

        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        shutil.rmtree(self.path.with_suffix(".d"), ignore_errors=True)  # a workflow's scratch files


def pending_journals(directory: Path) -> list[dict]:
    """Unfinished workflows (for `zoo doctor`-style reporting and tests)."""
    out = []
    for path in sorted(Path(directory).glob("*.json")) if Path(directory).is_dir() else []:
        try:
            out.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return out

"""What a workflow works with: chain client, contracts, storage, the signer and its keys.

Everything is opened lazily, so a workflow pays only for what it touches. Transactions go
through the journal (exactly once, resumable) when one is given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Self

from zoo_cli.chain.zoo import hex32
from zoo_cli.config import Settings
from zoo_cli.workflows.journal import Journal, journal_key


def task_id(name: str) -> bytes:
    """On-chain task id: keccak256 of the task (domain) name."""
    from eth_utils import keccak

    return keccak(text=name)


class Session:
    """One command's connection to the chain, storage and the selected account."""

    def __init__(self, settings: Settings, progress=None):
        self.settings = settings
        self.progress = progress
        self._contracts: dict[str, Any] = {}
        self._client = None
        self._storage = None

    # -- lazily opened backends -------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            from zoo_cli.chain.client import open_chain

            self._client = open_chain(self.settings, progress=with_progress(self, "indexing chain logs"))
        return self._client

    @property
    def w3(self):
        return self.client.w3

    @property
    def storage(self):
        if self._storage is None:
            from zoo_cli.storage.stores import open_storage

            self._storage = open_storage(self.settings)
        return self._storage

    def contract(self, name: str):
        if name not in self._contracts:
            from zoo_cli.chain.contracts import contract

            self._contracts[name] = contract(self.client, name)
        return self._contracts[name]

    @property
    def nft(self):
        return self.contract("ZooModelNFT")

    @property
    def market(self):
        return self.contract("Marketplace")

    @functools.cached_property
    def zoo(self):
        """The typed chain facade (chain/zoo.py): every contract read and write goes through it."""
        from zoo_cli.chain.zoo import Zoo

        return Zoo(self)

    # -- accounts -----------------------------------------------------------------
    @functools.cached_property
    def entry(self):
        from zoo_cli.workflows.accounts import resolve_account

        return resolve_account(self.settings)

    @property
    def address(self) -> str:
        return self.entry.address

    @functools.cached_property
    def signer(self):
        from zoo_cli.workflows.signer import unlock

        return unlock(self.settings, self.entry, self.client)

    @functools.cached_property
    def keys(self):
        """The account's X25519 + ML-KEM-768 key pair, derived from its private key."""
        from zoo_cli.storage.kem import EncryptionKeys

        return EncryptionKeys.derive(bytes(self.signer.key))

    def verifier_signer(self):
        """The configured verifier account, unlocked, or None when none is configured."""
        if not self.settings.verifier:
            return None
        from zoo_cli.chain.keystore import Keystore
        from zoo_cli.workflows.signer import unlock

        entry = Keystore(self.settings.keystore_dir).resolve(self.settings.verifier)
        return unlock(self.settings, entry, self.client)

    # -- reads ----------------------------------------------------------------------
    def call(self, fn, sender: str | None = None):
        from zoo_cli.chain.tx import call

        return call(fn, sender=sender)

    def now(self) -> int:
        return self.client.now()

    # -- writes ---------------------------------------------------------------------
    def journal(self, kind: str, *args: Any) -> Journal:
        key = journal_key(kind, self.client.deployment_name, self.client.chain_id, self.address, *args)
        return Journal(self.settings.journal_dir, kind, key, meta={"args": [str(a) for a in args]})

    def transact(self, fn, *, value: int = 0, journal: Journal | None = None, step: str = "tx",
                 account=None) -> dict:
        """Send ``fn`` once; returns ``{tx_hash, events: [{name, args}], gas_used, block}``.

        With a journal, a rerun after a crash never re-sends a transaction that was sent.
        """
        from zoo_cli.chain import tx as txmod

        acct = account or self.signer
        client = self.client

        def decode(receipt) -> dict:
            res = txmod.result_from_receipt(client, receipt)
            status = receipt["status"] if isinstance(receipt, dict) else receipt.status
            if int(status) != 1:
                from zoo_cli.errors import OperationFailed

                raise OperationFailed(f"transaction {res.tx_hash} reverted on-chain", hint="rerun with --verbose")
            return {
                "tx_hash": res.tx_hash,
                "gas_used": res.gas_used,
                "block": res.block_number,
                "events": [{"name": e.name, "args": _jsonable(e.args), "address": e.address} for e in res.events],
            }

        if journal is None:
            res = txmod.send(client, acct, fn, value=value)
            return decode(res.receipt)

        def sign() -> tuple[bytes, str]:
            with client.write_lock():
                signed = txmod.sign(client, acct, fn, value=value)
                return signed.raw, signed.tx_hash

        # sign + broadcast under the devnet writer lock so concurrent processes get distinct nonces
        return journal.tx(step, client, sign, decode, lock=client.write_lock)

    def close(self) -> None:
        if self._storage is not None:
            self._storage.close()
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return hex32(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def event_arg(result: dict, event: str, arg: str) -> Any:
    """The first ``event``'s ``arg`` in a transact() result."""
    for e in result["events"]:
        if e["name"] == event:
            return e["args"][arg]
    from zoo_cli.errors import OperationFailed

    raise OperationFailed(f"transaction {result['tx_hash']} emitted no {event} event")


def with_progress(session: Session, name: str) -> Callable | None:
    return session.progress.callback(name) if session.progress is not None else None

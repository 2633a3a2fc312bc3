"""The typed chain facade: what the workflows read from and send to the zoo contracts.

Workflows never touch a web3 contract's ``.functions`` (a test checks it). They ask a
:class:`Zoo` (``session.zoo``) instead:

- **reads** return frozen dataclasses with Python types: ints, checksummed addresses,
  ``0x…`` hex strings where the JSON output shows hex (``ModelRecord``, ``Order``,
  ``Dispute``, ``Listing``, ``LeaseTerms``, ``DataListing``, ``MarketState``, ``LedgerHead``,
  ``ZkEvalSet``, ``LastEvaluation``, ``Specialization``, ``ListRow``, ``RoyaltySplit``);
- **writes** return the contract call object, which the workflow hands to
  ``session.transact(…, journal=…, step=…)``: the journal keeps its exactly-once,
  resumable semantics unchanged;
- **logs**: :meth:`Zoo.logs` queries an event from the deployment block on, indexed
  arguments (token and order ids) as topics (``chain/logs.py``);
- **access**: :meth:`Zoo.require_owner` / :meth:`Zoo.require_reader` are the one owner
  and reader check (same errors, hints and exit codes everywhere).

The facade holds the session (anything with ``client``, ``contract(name)``, ``call(fn)``,
``address`` and ``now()``), so the contracts it opens are the session's cached ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO32_HEX = "0x" + "00" * 32
LOCKED_FOREVER = 2**40 - 1  # marketState.lockedUntil while an order is pending


def hex32(value: bytes | bytearray) -> str:
    """``0x``-prefixed lower-case hex of bytes (eth_utils)."""
    from eth_utils import encode_hex

    return encode_hex(bytes(value))


def from_hex(value: str) -> bytes:
    """Bytes of a ``0x…`` hex string (eth_utils)."""
    from eth_utils import decode_hex

    return decode_hex(value)


def _is_zero_address(address: str | None) -> bool:
    return not address or int(address, 16) == 0


# ------------------------------------------------------------------------------ read types

@dataclass(frozen=True)
class ModelRecord:
    """AIModelNFT (getModelMetadata) with Python types."""

    token_id: int
    owner: str
    model_hash: str
    generation: int
    training_ops: int
    performance: int
    specialization: str
    last_updated: int
    base_model: str
    parents: tuple[int, ...]
    ledger_head: str
    ledger_count: int
    verified: bool
    creator: str
    metadata_uri: str
    earned_specialization: str
    domain: int

    @classmethod
    def from_struct(cls, struct: dict) -> ModelRecord:
        return cls(
            token_id=int(struct["tokenId"]), owner=struct["owner"], model_hash=hex32(struct["modelHash"]),
            generation=int(struct["generation"]), training_ops=int(struct["trainingOps"]),
            performance=int(struct["performance"]), specialization=struct["specialization"],
            last_updated=int(struct["lastUpdated"]), base_model=hex32(struct["baseModel"]),
            parents=tuple(int(p) for p in struct["parents"]), ledger_head=hex32(struct["ledgerHead"]),
            ledger_count=int(struct["ledgerCount"]), verified=bool(struct["verified"]), creator=struct["creator"],
            metadata_uri=struct["metadataURI"], earned_specialization=struct.get("earnedSpecialization", ""),
            domain=int(struct.get("domain", 0)))

    def owned_by(self, address: str) -> bool:
        return self.owner.lower() == address.lower()


@dataclass(frozen=True)
class MarketState:
    generation: int
    transfer_count: int
    locked_until: int

    @property
    def pending_order(self) -> bool:
        """A pending order locks the token with no end."""
        return self.locked_until >= LOCKED_FOREVER


@dataclass(frozen=True)
class LedgerHead:
    head: str
    count: int


@dataclass(frozen=True)
class Order:
    """Marketplace.orders(id) (``kind``/``status`` are the enum indices)."""

    order_id: int
    kind: int
    status: int
    token_id: int
    seller: str
    buyer: str
    payer: str
    amount: int
    generation: int
    created_at: int
    delivered_at: int
    lease_duration_s: int
    key_commitment: bytes

    @property
    def exists(self) -> bool:
        return self.status != 0


@dataclass(frozen=True)
class Dispute:
    """Marketplace.disputes(id) plus deadlineOf (None where zero)."""

    disputed_at: int | None
    revealed_at: int | None
    arbiter: str | None
    deadline: int | None


@dataclass(frozen=True)
class LeaseTerms:
    min_lease_s: int
    min_price: int
    kind: int
    endpoint: str


@dataclass(frozen=True)
class Listing:
    """Marketplace.listings(token) with its lease terms (only valid listings are returned)."""

    token_id: int
    seller: str
    price: int
    for_lease: bool
    max_lease_s: int
    lease_price_per_second: int
    key_commitment: str
    generation: int
    transfer_count: int
    terms: LeaseTerms


@dataclass(frozen=True)
class DataListing:
    seller: str
    price: int
    key_commitment: str
    transfer_count: int
    dataset_root: str


@dataclass(frozen=True)
class RoyaltySplit:
    receiver: str
    amount: int


@dataclass(frozen=True)
class ListRow:
    """One `list` row (getListRows); ``specialization`` is the domain's label once the
    workflow has looked it up (``replace(row, specialization=…)``)."""

    token_id: int
    owner: str
    generation: int
    training_ops: int
    performance: int
    domain: int
    metadata_uri: str
    specialization: str = ""


@dataclass(frozen=True)
class Specialization:
    spec_type: int
    score: int
    experience: int
    success_rate: int
    certificate_hash: str


@dataclass(frozen=True)
class ZkEvalSet:
    """ZkEvaluator.getZkEvalSet(commitment) (``registrar`` zero: not registered)."""

    registrar: str
    n: int
    registered_at: int
    cid: str
    task_ids: tuple[bytes, ...]
    token_id: int
    generation: int
    seq: int

    @property
    def registered(self) -> bool:
        return not _is_zero_address(self.registrar)


@dataclass(frozen=True)
class LastEvaluation:
    """ZkEvaluator.lastEvaluation(token): ``generation`` None when nothing was proven."""

    generation: int | None
    commitment: str
    n: int
    task_ids: tuple[bytes, ...]


@dataclass(frozen=True)
class TaskScores:
    scores: tuple[int, ...]
    verified: tuple[bool, ...]


@dataclass(frozen=True)
class PublishedKeys:
    x25519: bytes
    mlkem768: bytes
    updated_at: int


# ------------------------------------------------------------------------------ the facade

class Zoo:
    """Named reads and writes of the zoo suite for one session."""

    def __init__(self, session: Any):
        self._s = session

    # -- plumbing ------------------------------------------------------------------------
    @property
    def nft(self):
        return self._s.contract("ZooModelNFT")

    @property
    def market(self):
        return self._s.contract("Marketplace")

    @property
    def rewards(self):
        return self._s.contract("TrainingRewards")

    @property
    def specializations(self):
        return self._s.contract("ModelSpecialization")

    @property
    def key_registry(self):
        return self._s.contract("KeyRegistry")

    @property
    def eval_registry(self):
        return self._s.contract("EvaluationRegistry")

    @property
    def zk_evaluator(self):
        return self._s.contract("ZkEvaluator")

    def _call(self, fn):
        return self._s.call(fn)

    def deployment_block(self) -> int:
        """The suite's deployment block (cached on the client; 0 when unknown)."""
        from zoo_cli.chain.logs import deployment_block

        return deployment_block(self._s.client)

    def logs(self, contract, event: str, *, from_block: int | None = None, to_block: int | str = "latest",
             **filters) -> list:
        """Decoded ``event`` logs of ``contract`` (a web3 contract or a suite contract name)
        from the deployment block on (or ``from_block``); indexed ``filters`` (token ids, order
        ids, accounts) become topics, the others are checked after decoding."""
        from zoo_cli.chain.logs import event_logs

        c = self._s.contract(contract) if isinstance(contract, str) else contract
        return event_logs(self._s.client, getattr(c.events, event), from_block=from_block, to_block=to_block,
                          **filters)

    # -- model NFT: reads ------------------------------------------------------------------
    def total_minted(self) -> int:
        return int(self._call(self.nft.functions.totalMinted()))

    def require_exists(self, token_id: int) -> None:
        from zoo_cli.errors import NotFound

        if token_id < 1 or token_id > self.total_minted():
            raise NotFound(f"token {token_id} does not exist", hint="see `zoo list`")

    def meta_fields(self) -> list[str]:
        """Field names of the AIModelNFT struct, from the deployed artifact's ABI."""
        for item in self.nft.abi:
            if item.get("type") == "function" and item.get("name") == "getModelMetadata":
                return [c["name"] for c in item["outputs"][0]["components"]]
        raise RuntimeError("ZooModelNFT ABI lacks getModelMetadata")

    def model(self, token_id: int) -> ModelRecord:
        """The token's record (NotFound for an unknown token)."""
        self.require_exists(token_id)
        raw = self._call(self.nft.functions.getModelMetadata(token_id))
        return ModelRecord.from_struct(dict(zip(self.meta_fields(), raw)))

    def specialization_of(self, token_id: int) -> str:
        """The record's specialization (domain) label, without the existence check."""
        raw = self._call(self.nft.functions.getModelMetadata(token_id))
        return raw[self.meta_fields().index("specialization")]

    def owner_of(self, token_id: int) -> str:
        return self._call(self.nft.functions.ownerOf(token_id))

    def user_of(self, token_id: int) -> str | None:
        """The ERC-4907 user (lessee), None when none is set or the lease expired."""
        user = self._call(self.nft.functions.userOf(token_id))
        return None if _is_zero_address(user) else user

    def user_expires(self, token_id: int) -> int:
        return int(self._call(self.nft.functions.userExpires(token_id)))

    def approved(self, token_id: int) -> str | None:
        """getApproved (None when nobody is)."""
        a = self._call(self.nft.functions.getApproved(token_id))
        return None if _is_zero_address(a) else a

    def is_approved_for_all(self, owner: str, operator: str) -> bool:
        return bool(self._call(self.nft.functions.isApprovedForAll(owner, operator)))

    def may_operate(self, token_id: int, owner: str, who: str) -> bool:
        """``who`` is the owner, the token's approved account or an operator of the owner."""
        if who.lower() == owner.lower():
            return True
        if (self.approved(token_id) or "").lower() == who.lower():
            return True
        return self.is_approved_for_all(owner, who)

    def has_role(self, role: bytes, address: str) -> bool:
        return bool(self._call(self.nft.functions.hasRole(role, address)))

    def market_state(self, token_id: int) -> MarketState:
        g, tc, locked = self._call(self.nft.functions.marketState(token_id))
        return MarketState(int(g), int(tc), int(locked))

    def ledger(self, token_id: int) -> LedgerHead:
        head, count = self._call(self.nft.functions.ledgerOf(token_id))
        return LedgerHead(hex32(head), int(count))

    def royalty_splits(self, token_id: int, price: int) -> list[RoyaltySplit]:
        """Royalties a sale at ``price`` pays (zero receivers and amounts left out)."""
        receivers, amounts = self._call(self.nft.functions.royaltySplits(token_id, price))
        return [RoyaltySplit(r, int(a)) for r, a in zip(receivers, amounts) if int(r, 16) != 0 and int(a) > 0]

    def task_score(self, token_id: int, task: str) -> int:
        return int(self._call(self.nft.functions.getModelPerformance(token_id, task)))

    def task_scores(self, token_id: int, task_ids: list[bytes]) -> TaskScores:
        values, flags = self._call(self.nft.functions.getTaskScores(token_id, task_ids))
        return TaskScores(tuple(int(v) for v in values), tuple(bool(f) for f in flags))

    def zk_performance(self, token_id: int) -> int:
        return int(self._call(self.nft.functions.zkPerformance(token_id)))

    def policy_hash(self, token_id: int) -> str | None:
        """The committed policy hash, None when none is."""
        h = bytes(self._call(self.nft.functions.policyHash(token_id)))
        return hex32(h) if any(h) else None

    def domain_name(self, domain: int) -> str:
        return self._call(self.nft.functions.domainName(domain))

    def list_rows(self, first: int, count: int) -> list[ListRow]:
        """getListRows: the packed `list` columns of ``count`` tokens from ``first``."""
        owners, packed, uris = self._call(self.nft.functions.getListRows(first, count))
        out = []
        for i, (owner, word, uri) in enumerate(zip(owners, packed, uris)):
            word = int(word)
            out.append(ListRow(token_id=first + i, owner=owner, generation=word & 0xFFFFFFFF,
                               training_ops=(word >> 64) & 0xFFFFFFFFFFFFFFFF, performance=(word >> 128) & 0xFFFF,
                               domain=(word >> 192) & 0xFF, metadata_uri=uri))
        return out

    def zk_module_address(self) -> str | None:
        m = self._call(self.nft.functions.zkModule())
        return None if _is_zero_address(m) else m

    # -- model NFT: writes (call objects for session.transact) --------------------------------
    def mint_with_domain(self, to: str, base_model: bytes, model_hash: bytes, uri: str, domain: int):
        return self.nft.functions.mintModelWithDomain(to, base_model, model_hash, uri, domain)

    def update_model(self, token_id: int, digest: bytes, proof):
        return self.nft.functions.updateModel(token_id, digest, proof)

    def set_token_uri(self, token_id: int, uri: str):
        return self.nft.functions.setTokenURI(token_id, uri)

    def set_policy_hash(self, token_id: int, policy_hash: bytes):
        return self.nft.functions.setPolicyHash(token_id, policy_hash)

    def fork(self, token_id: int, digest: bytes | None = None):
        if digest is None:
            return self.nft.functions.forkModel(token_id)
        return self.nft.functions.forkModelWithHash(token_id, digest)

    def merge(self, token_ids: list[int], digest: bytes, base_model: bytes):
        return self.nft.functions.mergeModelsWithHash(token_ids, digest, base_model)

    def set_domain(self, token_id: int, domain: int):
        """setDomain, or None when the deployed contract has no such function."""
        fn = getattr(self.nft.functions, "setDomain", None)
        return None if fn is None else fn(token_id, domain)

    def set_user(self, token_id: int, user: str, expires: int):
        return self.nft.functions.setUser(token_id, user, expires)

    def sell_training_data(self, token_id: int, buyer: str):
        return self.nft.functions.sellTrainingData(token_id, buyer)

    # -- access --------------------------------------------------------------------------
    def require_owner(self, token_id: int, *, owner: str | None = None, verb: str | None = None,
                      address: str | None = None, hint: str = "pass --account of the owner") -> str:
        """The owner when ``address`` (default: the session's account) owns the token; else
        PermissionDenied (exit 4) naming the owner. ``owner`` saves the read when the caller
        has the record; ``verb`` says what only the owner may do; ``hint`` follows the owner's
        address in the hint."""
        from zoo_cli.errors import PermissionDenied

        owner = owner if owner is not None else self.model(token_id).owner
        who = address or self._s.address
        if owner.lower() != who.lower():
            what = f"; only its owner can {verb} it" if verb else ""
            raise PermissionDenied(f"{who} does not own token {token_id}{what}",
                                   hint=f"the owner is {owner}; {hint}")
        return owner

    def require_reader(self, token_id: int, *, owner: str | None = None, address: str | None = None) -> str:
        """'owner' or 'lessee' when ``address`` (default: the session's account) may use the
        model now, else PermissionDenied (exit 4)."""
        from zoo_cli.errors import PermissionDenied

        owner = owner if owner is not None else self.model(token_id).owner
        who = address or self._s.address
        if owner.lower() == who.lower():
            return "owner"
        user = self.user_of(token_id)
        if user and user.lower() == who.lower():
            return "lessee"
        raise PermissionDenied(
            f"{who} is neither the owner nor an active lessee of token {token_id}",
            hint=f"lease it first: zoo lease take {token_id} --for 1d",
        )

    # -- marketplace: reads -----------------------------------------------------------------
    def order(self, order_id: int) -> Order:
        """Marketplace.orders (``status`` 0: no such order)."""
        raw = self._call(self.market.functions.orders(order_id))
        (kind, status, token_id, seller, buyer, payer, amount, generation, created, delivered, duration,
         commitment) = raw
        return Order(order_id=int(order_id), kind=int(kind), status=int(status), token_id=int(token_id),
                     seller=seller, buyer=buyer, payer=payer, amount=int(amount), generation=int(generation),
                     created_at=int(created), delivered_at=int(delivered), lease_duration_s=int(duration),
                     key_commitment=bytes(commitment))

    def dispute(self, order_id: int) -> Dispute:
        disputed_at, revealed_at, arbiter = self._call(self.market.functions.disputes(order_id))
        return Dispute(disputed_at=int(disputed_at) or None, revealed_at=int(revealed_at) or None,
                       arbiter=None if _is_zero_address(arbiter) else arbiter,
                       deadline=self.deadline_of(order_id) or None)

    def deadline_of(self, order_id: int) -> int:
        return int(self._call(self.market.functions.deadlineOf(order_id)))

    def order_dataset_root(self, order_id: int) -> str:
        return hex32(self._call(self.market.functions.orderDatasetRoot(order_id)))

    def delivery_timeout(self) -> int:
        return int(self._call(self.market.functions.deliveryTimeout()))

    def dispute_window(self) -> int:
        return int(self._call(self.market.functions.disputeWindow()))

    def balance(self, address: str) -> int:
        """The marketplace's pull-payment balance of ``address``."""
        return int(self._call(self.market.functions.balances(address)))

    def max_ledger_proof(self) -> int:
        return int(self._call(self.market.functions.MAX_LEDGER_PROOF()))

    def listing(self, token_id: int) -> Listing | None:
        """The token's valid listing, None when it has none."""
        m = self.market
        if not self._call(m.functions.isListingValid(token_id)):
            return None
        (tid, seller, price, for_lease, max_lease, lease_pps, commitment, generation, tc) = self._call(
            m.functions.listings(token_id))
        min_lease, min_price, kind, endpoint = self._call(m.functions.leaseTerms(token_id))
        return Listing(token_id=int(tid), seller=seller, price=int(price), for_lease=bool(for_lease),
                       max_lease_s=int(max_lease), lease_price_per_second=int(lease_pps),
                       key_commitment=hex32(commitment), generation=int(generation), transfer_count=int(tc),
                       terms=LeaseTerms(int(min_lease), int(min_price), int(kind), endpoint))

    def data_listing(self, token_id: int) -> DataListing:
        seller, price, commitment, tc, root = self._call(self.market.functions.dataListings(token_id))
        return DataListing(seller=seller, price=int(price), key_commitment=hex32(commitment),
                           transfer_count=int(tc), dataset_root=hex32(root))

    # -- marketplace: writes ---------------------------------------------------------------
    def list_model(self, token_id: int, price: int, terms: tuple, commitment: bytes):
        return self.market.functions.list(token_id, price, terms, commitment)

    def delist(self, token_id: int):
        return self.market.functions.delist(token_id)

    def buy(self, token_id: int):
        return self.market.functions.buyModel(token_id)

    def lease(self, token_id: int, duration_s: int):
        return self.market.functions.leaseModel(token_id, duration_s)

    def set_data_price(self, token_id: int, price: int, commitment: bytes, prev_head: bytes, steps: list):
        return self.market.functions.setDataPrice(token_id, price, commitment, prev_head, steps)

    def deliver_key(self, order_id: int, envelope: str):
        return self.market.functions.deliverKey(order_id, envelope)

    def confirm_delivery(self, order_id: int):
        return self.market.functions.confirmDelivery(order_id)

    def open_dispute(self, order_id: int):
        return self.market.functions.dispute(order_id)

    def reveal_key(self, order_id: int, arbiter: str, envelope: str):
        return self.market.functions.revealKey(order_id, arbiter, envelope)

    def resolve_dispute(self, order_id: int, refund_buyer: bool, envelope: str):
        return self.market.functions.resolveDispute(order_id, refund_buyer, envelope)

    def finalize(self, order_id: int):
        return self.market.functions.finalize(order_id)

    def timeout_dispute(self, order_id: int):
        return self.market.functions.timeoutDispute(order_id)

    def refund(self, order_id: int):
        return self.market.functions.refund(order_id)

    def withdraw(self):
        return self.market.functions.withdraw()

    # -- training rewards ------------------------------------------------------------------
    def model_rewards(self, token_id: int) -> int:
        return int(self._call(self.rewards.functions.modelRewards(token_id)))

    def claim_rewards(self, token_id: int):
        return self.rewards.functions.claimRewards(token_id)

    # -- key registry ----------------------------------------------------------------------
    def published_keys(self, address: str) -> PublishedKeys | None:
        reg = self.key_registry
        if not self._call(reg.functions.hasKeys(address)):
            return None
        x, m, updated = self._call(reg.functions.keysOf(address))
        return PublishedKeys(bytes(x), bytes(m), int(updated))

    def set_keys(self, x25519: bytes, mlkem768: bytes):
        return self.key_registry.functions.setKeys(x25519, mlkem768)

    # -- evaluation registry -----------------------------------------------------------------
    def register_eval_set(self, root: bytes, cid: str, task_ids: list[bytes]):
        return self.eval_registry.functions.registerEvalSet(root, cid, task_ids)

    # -- specializations ---------------------------------------------------------------------
    def specializations_of(self, token_id: int) -> list[Specialization]:
        items = self._call(self.specializations.functions.getSpecializations(token_id))
        return [_spec(i) for i in items]

    def specialization(self, token_id: int, spec: int) -> Specialization | None:
        exists, current = self._call(self.specializations.functions.getSpecialization(token_id, spec))
        return _spec(current) if exists else None

    def min_zk_records(self) -> int:
        return int(self._call(self.specializations.functions.MIN_ZK_RECORDS()))

    def min_zk_score(self) -> int:
        return int(self._call(self.specializations.functions.MIN_ZK_SCORE()))

    def earn_specialization(self, token_id: int, spec: int, proof: bytes):
        return self.specializations.functions.earnSpecialization(token_id, spec, proof)

    def earn_specialization_zk(self, token_id: int, spec: int):
        return self.specializations.functions.earnSpecializationZk(token_id, spec)

    # -- zk evaluator ------------------------------------------------------------------------
    def zk_module(self):
        """The NFT's zk evaluation module bound to ZkEvaluator's ABI, None when it has none."""
        from zoo_cli.chain.contracts import contract

        address = self.zk_module_address()
        return None if address is None else contract(self._s.client, "ZkEvaluator", address)

    def zk_verifier(self, zke=None) -> str:
        return self._call((zke or self.zk_evaluator).functions.verifier())

    def zk_vka_digest(self, zke=None) -> str:
        return hex32(self._call((zke or self.zk_evaluator).functions.vkaDigest()))

    def zk_last_seq(self, token_id: int, zke=None) -> int:
        return int(self._call((zke or self.zk_evaluator).functions.lastSeq(token_id)))

    def zk_eval_set(self, commitment: bytes, zke=None) -> ZkEvalSet:
        r = self._call((zke or self.zk_evaluator).functions.getZkEvalSet(commitment))
        return ZkEvalSet(registrar=r[0], n=int(r[1]), registered_at=int(r[2]), cid=r[3],
                         task_ids=tuple(bytes(t) for t in r[4]), token_id=int(r[5]), generation=int(r[6]),
                         seq=int(r[7]))

    def last_evaluation(self, token_id: int, zke=None) -> LastEvaluation:
        plus_one, commitment, n, task_ids = self._call((zke or self.zk_evaluator).functions.lastEvaluation(token_id))
        return LastEvaluation(generation=int(plus_one) - 1 if int(plus_one) else None, commitment=hex32(commitment),
                              n=int(n), task_ids=tuple(bytes(t) for t in task_ids))

    def set_zk_verifier(self, address: str, vka_digest: bytes, zke=None):
        return (zke or self.zk_evaluator).functions.setVerifier(address, vka_digest)

    def register_zk_eval_set(self, commitment: bytes, n: int, task_ids: list[bytes], cid: str, token_id: int,
                             zke=None):
        return (zke or self.zk_evaluator).functions.registerZkEvalSet(commitment, n, task_ids, cid, token_id)

    def submit_zk_eval(self, token_id: int, commitment: bytes, labels, proofs: list, instances: list, vka: list,
                       zke=None):
        return (zke or self.zk_evaluator).functions.submitZkEval(token_id, commitment, labels, proofs, instances, vka)

    def register_vka(self, verifier_address: str, abi: list, vka: list[bytes]):
        """registerVka on a freshly deployed (ezkl) verifier contract."""
        verifier = self._s.client.w3.eth.contract(address=verifier_address, abi=abi)
        return verifier.functions.registerVka(vka)


def _spec(item) -> Specialization:
    return Specialization(spec_type=int(item[0]), score=int(item[1]), experience=int(item[2]),
                          success_rate=int(item[3]), certificate_hash=hex32(item[4]))

"""`zoo data import`: an address's on-chain activity as interaction records with provenance.

Collection (chain/logs.py): for each block chunk, ``eth_getLogs`` with one topic filter
per topic position where a supported event holds an address (``[[topic0s], addr]``,
``[[topic0s], null, addr]``, ``[[topic0s], null, null, addr]``), then the receipts of the
transactions found (a router swap names the user only in a Transfer; its Swap/Sync are in
the receipt). Decoding (chain/events.py) is by event signature with eth_abi.

Mapping (this module): one record per *action event* of the address (see
``docs/user_guide.md`` "Training on your own history" for the exact table), with the
market conditions taken from the pools' own events in a lookback window (V2 ``Sync``
reserves, V3 ``Swap`` sqrtPrice) and realised profit of round trips. Nothing is
invented: a field the chain cannot supply is left out (unknown).

Durability: each chunk's records are appended with one ``write`` + fsync, then the cursor
(``$ZOO_HOME/imports/<key>.json``, keyed by network, chain id, address and output path)
moves past the chunk. A kill between the two re-imports that chunk on the next run and
the (chain id, tx hash, log index) dedup against the file drops what is already there.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zoo_cli.config import Settings
from zoo_cli.errors import BadInput

DEV_CHAIN_IDS = (1337, 31337)
DEFAULT_CONFIRMATIONS = 12
DEFAULT_CHUNK = 2000
MAX_LOGS_PER_CHUNK = 10_000
INITIAL_SPAN = 32  # slow start: a dense history must not arrive as one huge response
LOOKBACK_BLOCKS = 50  # window for price change / volatility from the pool's own events
IMPORT_DOMAINS = ("defi", "nft", "governance")
ZERO = "0x0000000000000000000000000000000000000000"
MAX_BATCH_ITEMS = 1_000  # records taken from one ERC-1155 TransferBatch (a hostile log can list millions)


def record_key(rec: dict) -> tuple:
    """What makes an imported record unique: the log it came from and, for a multi-item
    event (ERC-1155 TransferBatch), the item."""
    return rec["chain_id"], rec["tx_hash"], rec["log_index"], rec.get("batch_index")
Q96 = 2 ** 96


@dataclass
class ImportOptions:
    address: str
    out: Path
    from_block: int | None = None
    to_block: int | str | None = None  # None / "latest"
    domains: tuple[str, ...] = IMPORT_DOMAINS
    confirmations: int | None = None
    chunk: int = DEFAULT_CHUNK
    lookback: int = LOOKBACK_BLOCKS
    max_retries: int = 8


def parse_domains(text: str | None) -> tuple[str, ...]:
    if not text:
        return IMPORT_DOMAINS
    doms = tuple(d.strip() for d in text.split(",") if d.strip())
    bad = [d for d in doms if d not in IMPORT_DOMAINS]
    if bad or not doms:
        raise BadInput(f"unknown import domain(s): {', '.join(bad) or text!r}",
                       hint=f"use a comma-separated subset of: {','.join(IMPORT_DOMAINS)}")
    return doms


def check_address(text: str) -> str:
    """A checksummed address; a mixed-case address must carry a valid EIP-55 checksum."""
    from eth_utils import is_hex_address, to_checksum_address

    t = (text or "").strip()
    if not is_hex_address(t):
        raise BadInput(f"not an address: {text!r}", hint="pass a 0x-prefixed 20-byte hex address (--address 0x…)")
    body = t[2:]
    if body != body.lower() and body != body.upper() and to_checksum_address(t) != t:
        raise BadInput(f"bad address checksum: {text!r}", hint="copy the address again, or write it all lower case")
    return to_checksum_address(t)


# -- cursor and output file -------------------------------------------------------------

def cursor_path(settings: Settings, network: str, chain_id: int, address: str, out: Path) -> Path:
    key = f"{network}|{chain_id}|{address.lower()}|{Path(out).resolve()}"
    return settings.home / "imports" / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def _load_cursor(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # a torn cursor: start over; dedup keeps the file exact


def _save_cursor(path: Path, data: dict) -> None:
    from zoo_cli.fsutil import atomic_write

    atomic_write(path, json.dumps(data, sort_keys=True).encode(), mode=0o644)


def existing_keys(out: Path) -> set[tuple[int, str, int]]:
    """(chain id, tx hash, log index) of every record already in ``out``; repairs a torn tail."""
    keys: set[tuple[int, str, int]] = set()
    if not out.exists():
        return keys
    with open(out, "rb+") as fh:
        good = 0
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a torn last line (killed mid-write): cut it below
            good += len(raw)
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if isinstance(obj, dict) and {"chain_id", "tx_hash", "log_index"} <= obj.keys():
                keys.add(record_key(obj))
        if good < fh.seek(0, os.SEEK_END):
            fh.truncate(good)
    return keys


def _append(out: Path, lines: list[str]) -> None:
    if not lines:
        return
    data = "".join(lines).encode()
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


# -- market state from pool events --------------------------------------------------------

@dataclass
class PoolObservation:
    block: int
    tx_index: int
    log_index: int
    price: float  # token1 per token0, decimals applied


def _v2_price(reserve0: int, reserve1: int, dec0: int, dec1: int) -> float | None:
    if reserve0 == 0 or reserve1 == 0:
        return None
    return (reserve1 / 10 ** dec1) / (reserve0 / 10 ** dec0)


def _v3_price(sqrt_price_x96: int, dec0: int, dec1: int) -> float | None:
    if sqrt_price_x96 == 0:
        return None
    return (sqrt_price_x96 / Q96) ** 2 * 10 ** (dec0 - dec1)


def market_from(observations: list[PoolObservation], before: tuple[int, int, int], window: int) -> dict:
    """Price before the action, its % change over ``window`` blocks and volatility (%).

    Uses only pool observations strictly before ``before`` (block, tx index, log index)
    and inside the window; fewer than two observations leave change/volatility unknown.
    """
    blk = before[0]
    seen = [o for o in observations if (o.block, o.tx_index, o.log_index) < before and o.block >= blk - window]
    if not seen:
        return {}
    out: dict = {"price": seen[-1].price}
    if len(seen) >= 2 and seen[0].price > 0:
        out["price_change"] = round((seen[-1].price / seen[0].price - 1) * 100, 4)
        rets = [math.log(b.price / a.price) for a, b in itertools.pairwise(seen) if a.price > 0 and b.price > 0]
        if rets:
            mean = sum(rets) / len(rets)
            vol = math.sqrt(sum((r - mean) ** 2 for r in rets) / len(rets)) * 100
            out["volatility"] = round(vol, 4)
            out["risk"] = "low" if vol < 1 else "medium" if vol < 5 else "high"
    return out


# -- the importer ------------------------------------------------------------------------

@dataclass
class ImportStats:
    records: int = 0
    duplicates: int = 0
    logs: int = 0
    transactions: int = 0
    splits: int = 0
    chunks: int = 0
    by_domain: dict = field(default_factory=dict)


class Importer:
    """Turns one chunk of blocks into records (stateful across chunks for profit/APY)."""

    def __init__(self, fetcher, lookups, chain_id: int, address: str, domains: tuple[str, ...],
                 lookback: int, state: dict | None = None):
        from zoo_cli.chain import events

        self.ev = events
        self.f = fetcher
        self.look = lookups
        self.chain_id = chain_id
        self.address = address
        self.me = address.lower()  # decoded args hold lower-case addresses (checksummed only when written)
        self.domains = set(domains)
        self.lookback = lookback
        self.state = state or {"positions": {}, "nfts": {}, "vaults": {}}
        self._topics = events.topic0s(self.domains)
        self._positions = events.address_positions(self.domains)

    # collection
    def collect(self, a: int, b: int) -> tuple[list[str], int]:
        """Hashes of the txs in [a, b] that name the address (chain order), raw log count.

        The filters already restrict topic0 to supported events, so discovery only reads
        the tx hashes; the receipts are fetched and decoded one at a time by ``records``
        (memory stays bounded by one receipt, whatever the history).
        """
        from zoo_cli.chain.logs import participant_topics

        order: dict[str, tuple[int, int]] = {}
        n = 0
        for topics in participant_topics(self.address, self._positions, self._topics):
            logs = self.f.get_logs(a, b, topics=topics)
            n += len(logs)
            for log in logs:
                txh = log["transactionHash"].lower()
                if txh not in order:
                    order[txh] = (self.ev.as_int(log["blockNumber"]), self.ev.as_int(log.get("transactionIndex", 0)))
            del logs
        return sorted(order, key=order.get), n

    def receipt_logs(self, txh: str) -> tuple[str, list] | None:
        rcpt = self.f.call("eth_getTransactionReceipt", [txh], f"receipt {txh}")
        if not rcpt:
            return None
        decoded = [d for d in map(self.ev.decode_log, rcpt.get("logs") or ()) if d is not None]
        decoded.sort(key=lambda d: d.log_index)
        return (rcpt.get("from") or "").lower(), decoded

    def pool_history(self, pool: str, a: int, b: int) -> list[PoolObservation]:
        """Price observations of one pool (V2 Sync / V3 Swap) in [a - lookback, b]."""
        sync = self.ev.spec("uniswap_v2.Sync")
        v3 = self.ev.spec("uniswap_v3.Swap")
        logs = self.f.get_logs(max(0, a - self.lookback), b, address=pool,
                               topics=[["0x" + sync.topic0.hex(), "0x" + v3.topic0.hex()]])
        hist: list[PoolObservation] = []
        dec = self._pool_decimals(pool)
        if dec is None:
            return hist
        for log in logs:
            d = self.ev.decode_log(log)
            if d is None or d.address != pool:
                continue
            if d.label == "uniswap_v2.Sync":
                price = _v2_price(d.args["reserve0"], d.args["reserve1"], *dec)
            elif d.label == "uniswap_v3.Swap":
                price = _v3_price(d.args["sqrtPriceX96"], *dec)
            else:
                continue
            if price is not None:
                hist.append(PoolObservation(d.block, d.tx_index, d.log_index, price))
        return hist

    def _pool_decimals(self, pool: str) -> tuple[int, int] | None:
        toks = self.look.pool_tokens(pool)
        if toks is None:
            return None
        d0, d1 = self.look.decimals(toks[0]), self.look.decimals(toks[1])
        return (d0 if d0 is not None else 18, d1 if d1 is not None else 18)

    def _amount(self, token: str, raw: int) -> float:
        d = self.look.decimals(token)
        return raw / 10 ** (d if d is not None else 18)

    # mapping
    def records(self, a: int, b: int) -> tuple[Iterator[dict], int, int]:
        """(records of [a, b] in chain order, raw logs matched, transactions)."""
        txs, n = self.collect(a, b)
        hist = _ChunkPools(self, a, b)

        def gen():
            for txh in txs:
                got = self.receipt_logs(txh)
                if got is not None:
                    yield from self._tx_records(got[1], got[0], hist)

        return gen(), n, len(txs)

    def _base(self, d, domain: str) -> dict:
        rec = {"domain": domain, "user": self.address, "chain_id": self.chain_id, "block": d.block,
               "tx_hash": d.tx_hash, "log_index": d.log_index, "contract": d.address, "event": d.label}
        ts = self.look.block_timestamp(d.block)
        if ts is not None:
            rec["timestamp"] = ts
        return rec

    def _tx_records(self, logs: list, sender: str, hist: dict) -> list[dict]:
        me = self.me
        mine_tx = sender == me
        out: list[dict] = []
        labels = {d.label for d in logs}
        paid = [d for d in logs if d.label == "seaport.OrderFulfilled"]
        action_in_tx = any(d.label not in ("erc20.Transfer", "erc20.Approval", "uniswap_v2.Sync") for d in logs)
        for d in logs:
            involved = me in self.ev.participants(d)
            if not (involved or mine_tx):
                continue
            dom = d.spec.domain
            if dom not in self.domains:
                continue
            rec = None
            if dom == "defi":
                rec = self._defi(d, logs, hist, involved, action_in_tx)
            elif dom == "nft":
                rec = self._nft(d, paid, labels)
            else:
                rec = self._gov(d)
            if isinstance(rec, list):
                out.extend(rec)
            elif rec is not None:
                out.append(rec)
        return out

    def _market(self, pool: str, sym0: str, sym1: str, d, hist) -> dict:
        m = {"pool": f"{sym0}/{sym1}"}
        m.update(market_from(hist[pool], (d.block, d.tx_index, d.log_index), self.lookback))
        return m

    def _defi(self, d, logs, hist, involved: bool, action_in_tx: bool) -> dict | None:
        me, a, label = self.me, d.args, d.label
        if label == "erc20.Transfer":
            if action_in_tx or a["from"] != me or a["to"] == ZERO:
                return None  # part of a swap/mint/…, or received: not the user's own action
            rec = self._base(d, "defi")
            rec.update(action="transfer", tokens=[self.look.symbol(d.address)],
                       amounts=[self._amount(d.address, a["value"])])
            return rec
        if label == "erc20.Approval":
            if a["owner"] != me or action_in_tx:
                return None
            rec = self._base(d, "defi")
            rec.update(action="approve", tokens=[self.look.symbol(d.address)],
                       amounts=[self._amount(d.address, a["value"]) if a["value"] < 2 ** 255 else 0.0])
            return rec
        if label in ("weth.Deposit", "weth.Withdrawal"):
            who = a.get("dst") or a.get("src")
            if who != me:
                return None
            rec = self._base(d, "defi")
            rec.update(action="wrap" if label == "weth.Deposit" else "unwrap", tokens=[self.look.symbol(d.address)],
                       amounts=[self._amount(d.address, a["wad"])])
            return rec
        if label in ("erc4626.Deposit", "erc4626.Withdraw"):
            if me not in (a.get("owner"), a.get("sender"), a.get("receiver")):
                return None
            return self._vault(d)
        if d.spec.protocol in ("uniswap_v2", "uniswap_v3") and label != "uniswap_v2.Sync":
            return self._pool_action(d, hist)
        return None

    def _pool_action(self, d, hist) -> dict | None:
        toks = self.look.pool_tokens(d.address)
        if toks is None:
            return None
        t0, t1 = toks
        s0, s1 = self.look.symbol(t0), self.look.symbol(t1)
        a = d.args
        rec = self._base(d, "defi")
        market = self._market(d.address, s0, s1, d, hist)
        kind = d.spec.name
        if kind == "Swap":
            if d.spec.protocol == "uniswap_v2":
                in0, in1, out0, out1 = a["amount0In"], a["amount1In"], a["amount0Out"], a["amount1Out"]
            else:  # V3: positive = paid into the pool
                in0, in1 = max(a["amount0"], 0), max(a["amount1"], 0)
                out0, out1 = max(-a["amount0"], 0), max(-a["amount1"], 0)
            if in0 > 0:
                sold, bought, amt_in, amt_out = (t0, s0), (t1, s1), self._amount(t0, in0), self._amount(t1, out1)
            else:
                sold, bought, amt_in, amt_out = (t1, s1), (t0, s0), self._amount(t1, in1), self._amount(t0, out0)
            rec.update(action="swap", tokens=[sold[1], bought[1]], amounts=[amt_in, amt_out])
            profit = self._round_trip(d.address, sold[0], bought[0], amt_in, amt_out)
            if profit is not None:
                rec["profit"] = profit
                rec["outcome"] = f"round_trip_{'gain' if profit >= 0 else 'loss'}"
        elif kind == "Mint":
            rec.update(action="provide_liquidity", tokens=[s0, s1],
                       amounts=[self._amount(t0, a["amount0"]), self._amount(t1, a["amount1"])])
        else:  # Burn
            rec.update(action="remove_liquidity", tokens=[s0, s1],
                       amounts=[self._amount(t0, a["amount0"]), self._amount(t1, a["amount1"])])
        rec["market"] = market
        return rec

    def _round_trip(self, pool: str, sold: str, bought: str, amt_in: float, amt_out: float) -> float | None:
        """Average-cost position per (pool, token): profit (in the sold-for token) when closing."""
        pos = self.state["positions"].setdefault(pool, {})
        profit = None
        held = pos.get(sold)  # we previously bought `sold` paying `bought`: closing (part of) it
        if held and held["qty"] > 0 and held["paid_in"] == bought:
            qty = min(amt_in, held["qty"])
            cost = held["cost"] * qty / held["qty"]
            profit = round(amt_out * qty / amt_in - cost, 12) if amt_in else None
            held["qty"] -= qty
            held["cost"] -= cost
        else:
            cur = pos.setdefault(bought, {"qty": 0.0, "cost": 0.0, "paid_in": sold})
            if cur["paid_in"] == sold:
                cur["qty"] += amt_out
                cur["cost"] += amt_in
        return profit

    def _vault(self, d) -> dict | None:
        a = d.args
        asset = self.look.vault_asset(d.address)
        share_sym = self.look.symbol(d.address)
        asset_sym = self.look.symbol(asset) if asset else share_sym
        shares = self._amount(d.address, a["shares"])
        assets = self._amount(asset, a["assets"]) if asset else None
        rec = self._base(d, "defi")
        rec.update(action="stake" if d.spec.name == "Deposit" else "unstake", tokens=[asset_sym, share_sym],
                   amounts=[assets if assets is not None else 0.0, shares])
        market: dict = {"pool": f"{share_sym}/{asset_sym}"}
        if assets is not None and shares > 0:
            sp = assets / shares
            market["share_price"] = sp
            prev = self.state["vaults"].get(d.address)
            ts = rec.get("timestamp")
            if prev and ts and ts > prev["ts"] and prev["sp"] > 0:
                years = (ts - prev["ts"]) / (365 * 86400)
                growth = sp / prev["sp"]
                if growth > 0 and years > 0:
                    apy = (growth ** (1 / years) - 1) * 100 if years > 1e-6 else None
                    if apy is not None and -100 <= apy <= 10_000:
                        market["apy"] = round(apy, 4)
            if ts:
                self.state["vaults"][d.address] = {"sp": sp, "ts": ts}
        rec["market"] = market
        return rec

    def _nft(self, d, paid: list, labels: set) -> dict | list[dict] | None:
        a = d.args
        if d.label == "seaport.OrderFulfilled":
            return None  # its price is attached to the transfers it caused
        if d.label == "erc721.Transfer":
            return self._nft_item(d, a["from"], a["to"], a["tokenId"], paid)
        if d.label == "erc1155.TransferSingle":
            return self._nft_item(d, a["from"], a["to"], a["id"], paid)
        # TransferBatch: one record per id, told apart by batch_index (the dedup key has it)
        out = []
        for i, tid in enumerate(a["ids"][:MAX_BATCH_ITEMS]):
            rec = self._nft_item(d, a["from"], a["to"], tid, paid if i == 0 else [])
            if rec is not None:
                rec["batch_index"] = i
                out.append(rec)
        return out or None

    def _nft_item(self, d, frm: str, to: str, tid: int, paid: list) -> dict | None:
        if self.me not in (frm, to):
            return None
        price = None
        for o in paid:
            total = sum(c[3] for c in o.args["consideration"] if c[0] in (0, 1))
            price = total / 1e18
        key = f"{d.address}:{tid}"
        if to == self.me:
            action = "mint" if frm == ZERO else ("buy" if price is not None else "receive")
            counter = frm
        else:
            action = "sell" if price is not None else "send"
            counter = to
        rec = self._base(d, "nft")
        rec.update(collection=self.look.symbol(d.address), action=action, token_id=tid)
        if counter != ZERO:
            rec["counterparty"] = self.ev.checksum(counter)
        if price is not None:
            rec["price"] = price
        nfts = self.state["nfts"]
        if action == "buy":
            nfts[key] = price
        elif action == "sell" and nfts.get(key) is not None:
            rec["profit"] = round(price - nfts.pop(key), 12)
        return rec

    def _gov(self, d) -> dict | None:
        me, a = self.me, d.args
        rec = self._base(d, "governance")
        if d.label in ("governor.VoteCast", "governor.VoteCastWithParams"):
            if a["voter"] != me:
                return None
            pid = a["proposalId"]
            vote = {0: "against", 1: "for", 2: "abstain"}.get(a["support"])
            if vote is None:
                return None
            proposal: dict = {"id": pid}
            proposer = self.look.proposal_proposer(d.address, pid)
            if proposer:
                proposal["proposer_address"] = proposer
            state = self.look.proposal_state(d.address, pid)
            outcome = {4: "passed", 5: "passed", 7: "passed", 3: "rejected", 2: "rejected", 6: "rejected"}.get(state, "pending") \
                if state is not None else None
            rec.update(dao=self.look.name(d.address) or self.look.symbol(d.address), vote=vote, proposal=proposal,
                       weight=a["weight"] / 1e18)
            if outcome:
                rec["outcome"] = outcome
            return rec
        if d.label == "governor.ProposalCreated":
            if a["proposer"] != me:
                return None
            rec.update(dao=self.look.name(d.address) or self.look.symbol(d.address), vote="propose",
                       proposal={"id": a["proposalId"], "proposer_address": self.address})
            return rec
        if d.label == "erc20votes.DelegateChanged":
            if a["delegator"] != me:
                return None
            rec.update(dao=self.look.symbol(d.address), vote="delegate", delegate=self.ev.checksum(a["toDelegate"]))
            return rec
        return None


class _ChunkPools(dict):
    """Pool price histories of one chunk, each fetched the first time an action needs it."""

    def __init__(self, importer: Importer, a: int, b: int):
        super().__init__()
        self.importer, self.a, self.b = importer, a, b

    def __missing__(self, pool: str) -> list[PoolObservation]:
        self[pool] = self.importer.pool_history(pool, self.a, self.b)
        return self[pool]


def _validate(rec: dict) -> dict:
    from zoo_cli.engine.schemas import parse_record

    parse_record(rec)  # a record the importer writes must pass `zoo data check`
    return rec


def run_import(settings: Settings, opts: ImportOptions, progress: Callable | None = None) -> dict:
    """Import, resuming from the cursor; returns the JSON document of the command."""
    from zoo_cli.chain.client import open_chain
    from zoo_cli.chain.logs import LogFetcher, RetryPolicy, RpcTransport
    from zoo_cli.chain.lookups import Lookups

    address = check_address(opts.address)
    out = Path(opts.out)
    if out.is_dir():
        raise BadInput(f"{out} is a directory", hint="pass a file name, e.g. -o history.jsonl")
    if opts.from_block is not None and opts.from_block < 0:
        raise BadInput("--from-block must be ≥ 0", hint="e.g. --from-block 0")
    if opts.chunk < 1:
        raise BadInput("--chunk must be ≥ 1", hint="e.g. --chunk 2000 (blocks per eth_getLogs request)")
    network = settings.resolve_network()
    if network.embedded and not network.rpc:
        from zoo_cli.chain.logs import Web3Transport

        with open_chain(settings, create=False) as client:
            rpc = Web3Transport(client.w3)
            fetcher = LogFetcher(rpc, RetryPolicy(max_retries=opts.max_retries))
            return _run(settings, opts, network, client.chain_id, fetcher, Lookups(fetcher), address, out, progress)
    if not network.rpc:
        raise BadInput(f"network {network.name!r} has no RPC URL",
                       hint=f"pass --rpc URL or set rpc under [networks.{network.name}]")
    # Plain JSON-RPC (no web3 client): the chain id check goes through the same retry policy.
    rpc = RpcTransport(url=network.rpc)
    fetcher = LogFetcher(rpc, RetryPolicy(max_retries=opts.max_retries))
    try:
        chain_id = node_chain_id(fetcher, network)
        return _run(settings, opts, network, chain_id, fetcher, Lookups(fetcher), address, out, progress)
    finally:
        rpc.close()


def node_chain_id(fetcher, network) -> int:
    """The node's chain id; unreachable or not the network's chain -> BackendUnreachable (5)."""
    from zoo_cli.chain.logs import ConnectionFailed, RpcError
    from zoo_cli.errors import BackendUnreachable

    try:
        raw = fetcher.rpc.call("eth_chainId", [])
    except ConnectionFailed as exc:
        raise BackendUnreachable(f"cannot reach the JSON-RPC node at {network.rpc} ({exc})",
                                 hint="start the node or pass a different --rpc / --network") from None
    except RpcError as exc:
        raise BackendUnreachable(f"the node at {network.rpc} does not answer eth_chainId ({exc.message})",
                                 hint="is this an Ethereum JSON-RPC endpoint?") from None
    except Exception:  # noqa: BLE001 - rate limited on the first call: use the retry policy
        raw = fetcher.call("eth_chainId", [], "eth_chainId")
    chain_id = raw if isinstance(raw, int) else int(raw, 16)
    if network.chain_id is not None and chain_id != network.chain_id:
        raise BackendUnreachable(
            f"chain id mismatch: network {network.name!r} expects {network.chain_id}, "
            f"the node at {network.rpc} reports {chain_id}",
            hint="pass the right --network, or fix chain_id under [networks] in config.toml")
    return chain_id


def _run(settings, opts, network, chain_id, fetcher, lookups, address, out, progress) -> dict:
    head_hex = fetcher.call("eth_blockNumber", [], "eth_blockNumber")
    head = head_hex if isinstance(head_hex, int) else int(head_hex, 16)
    conf = opts.confirmations if opts.confirmations is not None else (
        0 if chain_id in DEV_CHAIN_IDS else DEFAULT_CONFIRMATIONS)
    if conf < 0:
        raise BadInput("--confirmations must be ≥ 0", hint="e.g. --confirmations 12")
    safe_head = head - conf
    if opts.to_block in (None, "latest"):
        to_block = safe_head
    else:
        to_block = int(opts.to_block)
        if to_block < 0:
            raise BadInput("--to-block must be ≥ 0 or `latest`", hint="e.g. --to-block 19000000 or --to-block latest")
        to_block = min(to_block, safe_head)
    cpath = cursor_path(settings, network.name, chain_id, address, out)
    cursor = _load_cursor(cpath)
    start = opts.from_block if opts.from_block is not None else 0
    resumed_from = None
    # Resume / increment: blocks before the cursor are already in the file.
    if (cursor.get("next_block") is not None and cursor.get("domains") == list(opts.domains)
            and cursor["next_block"] > start):
        resumed_from = cursor["next_block"]
        start = cursor["next_block"]
    state = cursor.get("state") if resumed_from is not None else None
    keys = existing_keys(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists():
        out.touch()
    imp = Importer(fetcher, lookups, chain_id, address, opts.domains, opts.lookback, state)
    stats = ImportStats()
    total_blocks = max(0, to_block - start + 1)
    span = min(opts.chunk, INITIAL_SPAN)
    a = start
    while a <= to_block:
        b = min(to_block, a + span - 1)
        recs, nlogs, ntx = imp.records(a, b)
        lines = []
        for r in recs:
            k = record_key(r)
            if k in keys:
                stats.duplicates += 1
                continue
            keys.add(k)
            lines.append(json.dumps(_validate(r), separators=(",", ":"), ensure_ascii=False) + "\n")
            stats.by_domain[r["domain"]] = stats.by_domain.get(r["domain"], 0) + 1
        _append(out, lines)
        stats.records += len(lines)
        stats.logs += nlogs
        stats.transactions += ntx
        stats.chunks += 1
        del lines, recs
        _save_cursor(cpath, {"network": network.name, "chain_id": chain_id, "address": address,
                             "output": str(out.resolve()), "domains": list(opts.domains),
                             "next_block": b + 1, "state": imp.state})
        if progress is not None:
            progress(b - start + 1, total_blocks, {"records": stats.records})
        a = b + 1
        # Keep a chunk's memory bounded whatever the history: a dense range shrinks the next span.
        if nlogs > MAX_LOGS_PER_CHUNK and span > 1:
            span = max(1, min(span // 2, span * MAX_LOGS_PER_CHUNK // nlogs))
        elif nlogs < MAX_LOGS_PER_CHUNK // 4 and span < opts.chunk:
            span = min(opts.chunk, span * 2)
    stats.splits = fetcher.splits
    note = None
    if stats.records == 0:
        note = (f"no activity of {address} in blocks {start}-{to_block}" if total_blocks else
                f"nothing new: blocks up to {to_block} are already imported")
    return {
        "path": str(out), "address": address, "chain_id": chain_id, "network": network.name,
        "from_block": start, "to_block": to_block, "head": head, "confirmations": conf,
        "records": stats.records, "duplicates_skipped": stats.duplicates, "domains": stats.by_domain,
        "transactions": stats.transactions, "logs_matched": stats.logs, "range_splits": stats.splits,
        "resumed_from": resumed_from, "cursor": str(cpath), "note": note,
    }


def check_provenance(client, data_path: Path, rpc_url: str | None = None, max_retries: int = 8) -> dict:
    """Re-check each record's (chain id, block, tx hash, log index, contract, event) on a node.

    ``client`` is the command's chain (used unless ``rpc_url`` names the node of the data's
    chain, e.g. mainnet history for a model on the Zoo chain). Returns ``{checked,
    without_provenance, failures: [{line, reason}], chain_id}``.
    """
    from zoo_cli.chain.logs import LogFetcher, RetryPolicy, RpcTransport
    from zoo_cli.chain.provenance import verify_provenance
    from zoo_cli.errors import BackendUnreachable

    if rpc_url:
        rpc = RpcTransport(url=rpc_url)
    elif client.embedded:
        from zoo_cli.chain.logs import Web3Transport

        rpc = Web3Transport(client.w3)
    else:
        rpc = RpcTransport(url=client.network.rpc)
    fetcher = LogFetcher(rpc, RetryPolicy(max_retries=max_retries))
    try:
        cid = fetcher.call("eth_chainId", [], "eth_chainId")
        chain_id = cid if isinstance(cid, int) else int(cid, 16)
    except Exception as exc:  # noqa: BLE001
        raise BackendUnreachable(f"cannot reach the provenance node ({exc})",
                                 hint="pass --provenance-rpc URL of a node of the data's chain") from None

    def rows():
        with open(data_path, "rb") as fh:
            for n, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    yield n, obj

    try:
        checked, skipped, failures = verify_provenance(fetcher, chain_id, rows())
    finally:
        rpc.close()
    return {"chain_id": chain_id, "checked": checked, "without_provenance": skipped,
            "failures": [{"line": f.line, "reason": f.reason} for f in failures]}


# -- block-explorer CSV exports -------------------------------------------------------------

CSV_TX = ("Transaction Hash", "Txhash")
CSV_REQUIRED = ("Blockno", "From", "To", "ContractAddress")
CSV_OPTIONAL = ("UnixTimestamp", "TokenSymbol", "TokenValue", "TokenId")


def _csv_get(row: dict, names: tuple[str, ...]) -> str | None:
    for n in names:
        if row.get(n) not in (None, ""):
            return row[n].strip()
    return None


def csv_records(path: Path, address: str, chain_id: int) -> list[dict]:
    """Records from an Etherscan-style token-transfer CSV export (ERC-20 or ERC-721/1155).

    Columns: ``Transaction Hash`` (or ``Txhash``), ``Blockno``, ``From``, ``To``,
    ``ContractAddress`` required; ``UnixTimestamp``, ``TokenSymbol``, ``TokenValue``
    (ERC-20 export: a decimal amount, thousands separators allowed) and ``TokenId`` (NFT
    export) optional; other columns are ignored. A row with ``TokenId`` is an NFT transfer,
    otherwise an ERC-20 transfer. The export has no log index, so these records carry
    ``chain_id``/``block``/``tx_hash``/``contract`` but no ``log_index``.
    """
    import csv

    from eth_utils import is_address, to_checksum_address

    from zoo_cli.chain.lookups import clean_symbol

    me = check_address(address)
    out: list[dict] = []
    try:
        fh = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file", hint="export the token transfers CSV from the block explorer") from None
    with fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or ())
        missing = [c for c in CSV_REQUIRED if c not in cols] + ([] if cols & set(CSV_TX) else ["Transaction Hash"])
        if missing:
            raise BadInput(f"{path}: not a token-transfer CSV export (missing column(s): {', '.join(missing)})",
                           hint="accepted columns are listed in docs/user_guide.md, 'Training on your own history'")
        for n, row in enumerate(reader, 2):
            txh = (_csv_get(row, CSV_TX) or "").lower()
            frm, to, contract = row["From"].strip(), row["To"].strip(), row["ContractAddress"].strip()
            try:
                block = int(row["Blockno"])
                if not (len(txh) == 66 and int(txh, 16) >= 0 and is_address(frm) and is_address(to)
                        and is_address(contract)):
                    raise ValueError
            except ValueError:
                raise BadInput(f"{path}:{n}: bad row (transaction hash, block or address)",
                               hint="is this an unmodified explorer export?") from None
            frm, to, contract = (to_checksum_address(x) for x in (frm, to, contract))
            if me not in (frm, to):
                continue
            sym = clean_symbol(row.get("TokenSymbol")) or contract
            rec: dict = {"user": me, "chain_id": chain_id, "block": block, "tx_hash": txh, "contract": contract}
            ts = _csv_get(row, ("UnixTimestamp",))
            if ts and ts.isdigit():
                rec["timestamp"] = int(ts)
            tid = _csv_get(row, ("TokenId",))
            if tid is not None:
                if not tid.isdigit():
                    raise BadInput(f"{path}:{n}: bad TokenId {tid!r}", hint="use the block explorer's token-transfer CSV export unchanged")
                mine_in = to == me
                rec.update(domain="nft", event="erc721.Transfer", collection=sym, token_id=int(tid),
                           action=("mint" if frm == ZERO else "receive") if mine_in else "send")
                counter = frm if mine_in else to
                if counter != ZERO:
                    rec["counterparty"] = counter
            else:
                if frm != me or to == ZERO:
                    continue  # received tokens are not the user's decision (as with the node import)
                value = (_csv_get(row, ("TokenValue", "Value")) or "0").replace(",", "")
                try:
                    amount = float(value)
                except ValueError:
                    raise BadInput(f"{path}:{n}: bad TokenValue {value!r}", hint="use the block explorer's token-transfer CSV export unchanged") from None
                rec.update(domain="defi", event="erc20.Transfer", action="transfer", tokens=[sym], amounts=[amount])
            out.append(_validate(rec))
    return out


def run_csv_import(settings: Settings, csv_path: Path, address: str, out: Path, chain_id: int) -> dict:
    """Append the CSV's records to ``out`` (records already in it are skipped)."""
    from zoo_cli.engine.data import canonical_json

    if chain_id < 1:
        raise BadInput("--chain-id must be ≥ 1", hint="the chain the CSV export came from, e.g. --chain-id 1")
    recs = csv_records(Path(csv_path), address, chain_id)
    out = Path(out)
    if out.is_dir():
        raise BadInput(f"{out} is a directory", hint="pass a file name, e.g. -o history.jsonl")
    existing_keys(out)  # repairs a torn tail
    seen = set()
    if out.exists():
        with open(out, "rb") as fh:
            for raw in fh:
                try:
                    seen.add(canonical_json(json.loads(raw)))
                except ValueError:
                    continue
    lines, dup = [], 0
    for r in recs:
        key = canonical_json(r)
        if key in seen:
            dup += 1
            continue
        seen.add(key)
        lines.append(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists():
        out.touch()
    _append(out, lines)
    counts: dict = {}
    for line in lines:
        d = json.loads(line)["domain"]
        counts[d] = counts.get(d, 0) + 1
    return {"path": str(out), "address": check_address(address), "chain_id": chain_id, "source": str(csv_path),
            "records": len(lines), "duplicates_skipped": dup, "domains": counts,
            "note": None if recs else f"no transfers of {check_address(address)} in {csv_path}"}

"""`zoo list` and `zoo show`: models from chain state (batched reads, no heavy work).

On the embedded devnet `zoo list` keeps its rows in ``$ZOO_HOME/cache/list-1337.sqlite``
with the head block (hash, number) and the digest of the deployment records they reflect.
A row is a pure function of chain state at that head and of content-addressed metadata, so
while no block has been added the rows are served from the cache without opening the chain
(no py-evm/web3 import, no EVM execution). After new blocks only the tokens named by the
NFT's events since the cached head (and new mints) are re-read; a deployment change
rebuilds the cache. Filters and paging (--owner, a domain label, --limit/--offset) are SQL
over the cache, so memory is bounded by the page. Filters that need more chain reads
(--for-sale, --mine, an earned specialization) always read the chain; RPC networks are
never cached (an unfiltered page reads only its own tokens).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from zoo_cli.chain.zoo import ListRow
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput
from zoo_cli.units import stage_for, wei_fields
from zoo_cli.workflows.models import (
    cid_of,
    public_metadata,
    summary,
)
from zoo_cli.workflows.session import Session

EARNED = ("DeFi_Yield_Optimizer", "DeFi_Arbitrage_Bot", "NFT_Valuation_Expert", "NFT_Trend_Predictor",
          "Game_Strategy_Master", "Game_Economy_Optimizer", "Social_Influencer", "DAO_Governance_Analyst")
TASKS = ("defi", "gaming", "nft", "social", "governance")


def _head_key(settings: Settings) -> tuple[str, str] | None:
    """Embedded devnet only: (committed head block hash, deployment records digest), read
    without opening the chain; None when there is nothing to key on (RPC, no devnet yet)."""
    import hashlib
    import sqlite3

    try:
        network = settings.resolve_network()
    except Exception:  # noqa: BLE001 - the normal path reports configuration errors
        return None
    db = Path(settings.devnet_dir) / "chain.sqlite"
    if not network.embedded or network.rpc or not db.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            row = conn.execute("SELECT v FROM kv WHERE k = ?", (b"v1:canonical_head_hash",)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    if not row:
        return None
    digest = hashlib.sha256()
    deployments = Path(settings.deployments_dir)
    for path in sorted(deployments.glob("*.json")) if deployments.is_dir() else []:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return bytes(row[0]).hex(), digest.hexdigest()


def _cache_path(settings: Settings) -> Path:
    return Path(settings.home) / "cache" / "list-1337.sqlite"


class _RowCache:
    """The `list` rows of the embedded devnet in ``$ZOO_HOME/cache/list-1337.sqlite``: one
    row per token plus the head block (hash, number) and deployment digest they reflect.
    Queried with SQL (filters, paging), so a listing never holds more rows than it prints."""

    def __init__(self, path: Path):
        import sqlite3

        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        try:
            self._schema()
        except sqlite3.DatabaseError:  # not a database (corrupt): start over
            self.conn.close()
            for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                stale.unlink(missing_ok=True)
            self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self._schema()

    def _schema(self) -> None:
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS rows (token_id INTEGER PRIMARY KEY, owner TEXT NOT NULL,"
                          " spec TEXT, label TEXT, row TEXT NOT NULL)")

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT k, v FROM meta"))

    def write(self, rows: list[tuple[dict, str | None]], meta: dict[str, str] | None = None,
              clear: bool = False) -> None:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            if clear:
                cur.execute("DELETE FROM rows")
                cur.execute("DELETE FROM meta")
            cur.executemany("INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?, ?)", [
                (r["token_id"], r["owner"].lower(), r["specialization"], label,
                 json.dumps(r, separators=(",", ":"))) for r, label in rows])
            if meta:
                cur.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def query(self, owner: str | None, spec: str | None, limit: int | None, offset: int) -> list[dict]:
        where, args = [], []
        if owner:
            where.append("owner = ?")
            args.append(owner)
        if spec:
            where.append("(spec = ? OR label = ?)")
            args += [spec, spec]
        sql = "SELECT row FROM rows" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY token_id LIMIT ? OFFSET ?"
        args += [-1 if limit is None else limit, offset]
        return [json.loads(r) for (r,) in self.conn.execute(sql, args)]

    def close(self) -> None:
        self.conn.close()


def _row(s: Session, rec: ListRow) -> tuple[dict, str | None]:
    meta = public_metadata(s, rec.metadata_uri)
    return summary(s, rec, meta), meta.get("specialization")


def _touched_since(s: Session, after_block: int, head: int) -> tuple[set[int], bool]:
    """Token ids whose `list` row may have changed in blocks ``after_block+1..head`` (from the
    NFT's logs), and whether a change covers every token (then rebuild)."""
    from eth_utils import event_abi_to_log_topic

    from zoo_cli.chain.logs import query_logs

    nft = s.nft
    by_topic = {event_abi_to_log_topic(e): e["name"] for e in nft.abi if e.get("type") == "event"}
    touched: set[int] = set()
    for raw in query_logs(s.client, nft.address, None, after_block + 1, head):
        if not raw["topics"]:
            continue
        name = by_topic.get(bytes(raw["topics"][0]))
        if name is None:
            continue
        args = getattr(nft.events, name)().process_log(raw)["args"]
        if name == "BatchMetadataUpdate":
            lo, hi = int(args["_fromTokenId"]), int(args["_toTokenId"])
            if hi - lo > 10_000:
                return touched, True
            touched.update(range(lo, hi + 1))
            continue
        for key in ("tokenId", "newTokenId", "_tokenId"):
            if key in args:
                touched.add(int(args[key]))
    return touched, False


def _refresh_cache(settings: Settings, key: tuple[str, str]) -> _RowCache:
    """Bring the row cache to the chain head: incremental when it reflects an older head of
    the same deployment (re-read only tokens touched since), else rebuilt page by page."""
    path = _cache_path(settings)
    cache = _RowCache(path) if path.exists() else None  # none is created before the chain opens
    meta = cache.meta() if cache is not None else {}
    if cache is not None and meta.get("head") == key[0] and meta.get("deploy") == key[1]:
        return cache
    with Session(settings) as s:
        head = int(s.w3.eth.block_number)
        head_hash = bytes(s.w3.eth.get_block(head)["hash"]).hex()
        total = s.zoo.total_minted()  # reads the deployment record
        if cache is None:
            cache = _RowCache(path)
        touched: set[int] | None = None
        if (meta.get("deploy") == key[1] and meta.get("head_number") and int(meta["head_number"]) <= head
                and bytes(s.w3.eth.get_block(int(meta["head_number"]))["hash"]).hex() == meta.get("head")):
            # the cached head is still an ancestor of this chain (not a reset devnet): incremental
            touched, everything = _touched_since(s, int(meta["head_number"]), head)
            if everything:
                touched = None
            else:
                touched.update(range(int(meta.get("total", "0")) + 1, total + 1))
                touched = {t for t in touched if 1 <= t <= total}
        new_meta = {"head": head_hash, "head_number": str(head), "deploy": key[1], "total": str(total)}
        if touched is None:
            first = True
            batch: list = []
            for rec in list_records(s):
                batch.append(_row(s, rec))
                if len(batch) >= PAGE:
                    cache.write(batch, clear=first)
                    first, batch = False, []
            cache.write(batch, new_meta, clear=first)
        else:
            rows = [_row(s, rec) for rec in _records_of(s, sorted(touched))]
            cache.write(rows, new_meta)
    return cache


def list_models(settings: Settings, *, owner: str | None, mine: bool, for_sale: bool,
                specialization: str | None, limit: int | None = None, offset: int = 0) -> list[dict]:
    from zoo_cli.workflows.mint import normalise_label

    if owner and mine:
        raise BadInput("give either --owner or --mine", hint="zoo list --mine")
    if limit is not None and limit < 0:
        raise BadInput("--limit must be 0 or more", hint="zoo list --limit 20")
    if offset < 0:
        raise BadInput("--offset must be 0 or more", hint="zoo list --limit 20 --offset 20")
    spec_filter = None
    if specialization:
        spec_filter = next((e for e in EARNED if e.lower() == specialization.lower()), None)
        if spec_filter is None:
            spec_filter = normalise_label(specialization)
    if owner:
        from eth_utils import is_address

        if not is_address(owner):
            raise BadInput(f"invalid address {owner!r}", hint="a 0x-prefixed 20-byte hex address")
    cacheable = not for_sale and not mine and spec_filter not in EARNED
    key = _head_key(settings) if cacheable else None
    if key is not None:
        cache = _refresh_cache(settings, key)
        try:
            return cache.query(owner.lower() if owner else None, spec_filter, limit, offset)
        finally:
            cache.close()
    with Session(settings) as s:
        want_owner = None
        if mine:
            want_owner = s.address.lower()
        elif owner:
            want_owner = owner.lower()
        plain = not (want_owner or spec_filter or for_sale)
        # unfiltered pages read only their own tokens
        records = list_records(s, first=offset + 1, count=limit) if plain else list_records(s)
        rows: list[dict] = []
        skipped = 0
        for rec in records:
            if limit is not None and len(rows) >= limit:
                break
            token_id = rec.token_id
            if want_owner and rec.owner.lower() != want_owner:
                continue
            meta = public_metadata(s, rec.metadata_uri)
            row = summary(s, rec, meta)
            if spec_filter:
                labels = {row["specialization"], meta.get("specialization")}
                if spec_filter in EARNED:
                    labels |= set(earned_specializations(s, token_id))
                if spec_filter not in labels:
                    continue
            if for_sale:
                listing = listing_of(s, token_id)
                if not listing:
                    continue
            if not plain and skipped < offset:
                skipped += 1
                continue
            rows.append(row)
        return rows


PAGE = 250  # tokens per getListRows eth_call


def _decode_rows(s: Session, start: int, count: int, labels: dict[int, str]):
    for row in s.zoo.list_rows(start, count):
        if row.domain not in labels:
            labels[row.domain] = s.zoo.domain_name(row.domain)
        yield replace(row, specialization=labels[row.domain])


def list_records(s: Session, first: int = 1, count: int | None = None):
    """The `list` columns of tokens ``first..`` (``count`` of them, None: all), in id order,
    as ``ListRow``s with the domain's label: one getListRows eth_call per PAGE tokens (only
    the listed columns)."""
    total = s.zoo.total_minted()
    last = total if count is None else min(total, first + count - 1)
    labels: dict[int, str] = {}
    for start in range(max(1, first), last + 1, PAGE):
        n = min(PAGE, last + 1 - start)
        yield from _decode_rows(s, start, n, labels)


def _records_of(s: Session, token_ids: list[int]):
    """`list_records` for chosen tokens (sorted ids): one getListRows call per run of ids."""
    labels: dict[int, str] = {}
    runs: list[list[int]] = []
    for t in token_ids:
        if runs and t == runs[-1][-1] + 1 and len(runs[-1]) < PAGE:
            runs[-1].append(t)
        else:
            runs.append([t])
    for run in runs:
        yield from _decode_rows(s, run[0], len(run), labels)


def earned_specializations(s: Session, token_id: int) -> list[str]:
    try:
        items = s.zoo.specializations_of(token_id)
    except Exception:  # noqa: BLE001 - optional module
        return []
    # specType is the 0-based ZIP-6 enum index (ModelSpecialization.Specialization)
    return [EARNED[i.spec_type] if 0 <= i.spec_type < len(EARNED) else str(i.spec_type) for i in items]


def listing_of(s: Session, token_id: int) -> dict | None:
    """The token's active marketplace listing, or None."""
    lst = s.zoo.listing(token_id)
    if lst is None:
        return None
    terms = lst.terms
    lease = {"min_lease_s": terms.min_lease_s, **wei_fields("min_lease_price", terms.min_price),
             "lease_kind": ("key", "hosted")[terms.kind] if lst.for_lease else None, "endpoint": terms.endpoint or None}
    return {
        "seller": lst.seller,
        **wei_fields("price", lst.price),
        "for_sale": lst.price > 0,
        "for_lease": lst.for_lease,
        **wei_fields("lease_price_per_second", lst.lease_price_per_second),
        **wei_fields("lease_price_per_day", lst.lease_price_per_second * 86400),
        "max_lease_s": lst.max_lease_s,
        **lease,
        "key_commitment": lst.key_commitment,
        "generation": lst.generation,
    }


def show_model(settings: Settings, token_id: int) -> dict:
    with Session(settings) as s:
        model = s.zoo.model(token_id)
        meta = public_metadata(s, model.metadata_uri)
        from zoo_cli.workflows.session import task_id

        # one call: every task's score and whether a VERIFIER's report set it (a self-attested
        # score can sit next to `verified` = true when the verifier's report covered other tasks)
        ts = s.zoo.task_scores(token_id, [task_id(t) for t in TASKS])
        shown = {t for t, v in zip(TASKS, ts.scores) if v or t in (meta.get("task_scores") or {})}
        scores = {t: v for t, v in zip(TASKS, ts.scores) if t in shown}
        task_verified = {t: f for t, f in zip(TASKS, ts.verified) if t in shown}
        user = s.zoo.user_of(token_id)
        expires = s.zoo.user_expires(token_id)
        rewards = 0
        try:
            rewards = s.zoo.model_rewards(token_id)
        except Exception:  # noqa: BLE001
            rewards = 0
        zk = policy_hash = None
        try:
            zk = s.zoo.zk_performance(token_id)
            policy_hash = s.zoo.policy_hash(token_id)
        except Exception:  # noqa: BLE001 - not every deployment carries the zk module
            zk = None
        return {
            "token_id": token_id,
            "name": meta.get("name") or f"model #{token_id}",
            "owner": model.owner,
            "base_model": model.base_model,
            "model_hash": model.model_hash,
            "cid": cid_of(model.model_hash),
            "generation": model.generation,
            "stage": stage_for(model.training_ops),
            "training_ops": model.training_ops,
            "performance": model.performance,
            "task_scores": scores,
            "task_verified": task_verified,
            "verified": model.verified,
            "zk_performance": zk,
            "policy_hash": policy_hash,
            "specialization": meta.get("specialization") or model.specialization,
            "specializations": earned_specializations(s, token_id),
            "parents": list(model.parents),
            "user": user,
            "user_expires": expires or None,
            "listing": listing_of(s, token_id),
            **wei_fields("rewards", rewards),
            "last_updated": model.last_updated,
            "token_uri": model.metadata_uri or None,
            "creator": model.creator,
            "ledger_head": model.ledger_head,
            "ledger_entries": model.ledger_count,
            "model_kinds": meta.get("model_kinds", []),
        }

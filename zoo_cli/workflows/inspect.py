"""`zoo list` and `zoo show`: models from chain state (batched reads, no heavy work).

On the embedded devnet `zoo list` keeps its unfiltered rows in ``$ZOO_HOME/cache/list-1337.json``
keyed by the devnet's committed head block hash (read straight from sqlite) and a digest
of the deployment records. A row is a pure function of chain state at that head and of
content-addressed metadata, so while no block has been added the rows are served from the
cache without opening the chain (no py-evm/web3 import, no EVM execution); any new block
or deployment change rebuilds them. Filters that need more chain reads (--for-sale, an
earned specialization) always read the chain. RPC networks are never cached.
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo_cli.config import Settings
from zoo_cli.errors import BadInput
from zoo_cli.units import stage_for, wei_fields
from zoo_cli.workflows.models import (
    cid_of,
    public_metadata,
    read_record,
    summary,
)
from zoo_cli.workflows.session import Session

EARNED = ("DeFi_Yield_Optimizer", "DeFi_Arbitrage_Bot", "NFT_Valuation_Expert", "NFT_Trend_Predictor",
          "Game_Strategy_Master", "Game_Economy_Optimizer", "Social_Influencer", "DAO_Governance_Analyst")
TASKS = ("defi", "gaming", "nft", "social", "governance")


def _cache_key(settings: Settings) -> str | None:
    """Embedded devnet only: committed head hash + deployment records digest, read without
    opening the chain; None when there is nothing to key on (RPC network, no devnet yet)."""
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
    return bytes(row[0]).hex() + ":" + digest.hexdigest()


def _cache_path(settings: Settings) -> Path:
    return Path(settings.home) / "cache" / "list-1337.json"


def _cached_rows(settings: Settings, key: str | None) -> list[dict] | None:
    if key is None:
        return None
    try:
        doc = json.loads(_cache_path(settings).read_text())
    except (OSError, ValueError):
        return None
    return doc.get("rows") if isinstance(doc, dict) and doc.get("key") == key else None


def _store_rows(settings: Settings, key: str | None, rows: list[dict]) -> None:
    """Best effort: a cache that cannot be written only costs the next list a chain read."""
    from zoo_cli.fsutil import atomic_write_text

    if key is None or _cache_key(settings) != key:  # a block landed meanwhile: do not cache
        return
    try:
        path = _cache_path(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({"key": key, "rows": rows}, separators=(",", ":")))
    except OSError:
        pass


def _filtered(rows: list[dict], want_owner: str | None, spec_filter: str | None) -> list[dict]:
    out = []
    for row in rows:
        if want_owner and row["owner"].lower() != want_owner:
            continue
        if spec_filter and spec_filter not in {row["specialization"], row.get("_label")}:
            continue
        out.append({k: v for k, v in row.items() if k != "_label"})
    return out


def list_models(settings: Settings, *, owner: str | None, mine: bool, for_sale: bool,
                specialization: str | None) -> list[dict]:
    from zoo_cli.workflows.mint import normalise_label

    if owner and mine:
        raise BadInput("give either --owner or --mine", hint="zoo list --mine")
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
    key = _cache_key(settings) if cacheable else None
    cached = _cached_rows(settings, key)
    if cached is not None:
        return _filtered(cached, owner.lower() if owner else None, spec_filter)
    if cacheable and key is not None:
        with Session(settings) as s:
            rows = []
            for rec in list_records(s):
                meta = public_metadata(s, rec["metadataURI"])
                rows.append({**summary(s, rec, meta), "_label": meta.get("specialization")})
        _store_rows(settings, key, rows)
        return _filtered(rows, owner.lower() if owner else None, spec_filter)
    with Session(settings) as s:
        want_owner = None
        if mine:
            want_owner = s.address.lower()
        elif owner:
            want_owner = owner.lower()
        rows = []
        for rec in list_records(s):
            token_id = int(rec["tokenId"])
            if want_owner and rec["owner"].lower() != want_owner:
                continue
            meta = public_metadata(s, rec["metadataURI"])
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
            rows.append(row)
        return rows


PAGE = 250  # tokens per getListRows eth_call


def list_records(s: Session):
    """The `list` columns of every token, in id order, under AIModelNFT's field names: one
    getListRows eth_call per PAGE tokens (only the listed columns)."""
    total = int(s.call(s.nft.functions.totalMinted()))
    labels: dict[int, str] = {}
    for start in range(1, total + 1, PAGE):
        owners, packed, uris = s.call(s.nft.functions.getListRows(start, min(PAGE, total + 1 - start)))
        for i, (owner, word, uri) in enumerate(zip(owners, packed, uris)):
            word = int(word)
            domain = (word >> 192) & 0xFF
            if domain not in labels:
                labels[domain] = s.call(s.nft.functions.domainName(domain))
            yield {"tokenId": start + i, "owner": owner, "generation": word & 0xFFFFFFFF,
                   "trainingOps": (word >> 64) & 0xFFFFFFFFFFFFFFFF, "performance": (word >> 128) & 0xFFFF,
                   "specialization": labels[domain], "metadataURI": uri}


def earned_specializations(s: Session, token_id: int) -> list[str]:
    try:
        reg = s.contract("ModelSpecialization")
        items = s.call(reg.functions.getSpecializations(token_id))
    except Exception:  # noqa: BLE001 - optional module
        return []
    # specType is the 0-based ZIP-6 enum index (ModelSpecialization.Specialization)
    return [EARNED[int(item[0])] if 0 <= int(item[0]) < len(EARNED) else str(item[0]) for item in items]


def listing_of(s: Session, token_id: int) -> dict | None:
    """The token's active marketplace listing, or None."""
    market = s.market
    if not s.call(market.functions.isListingValid(token_id)):
        return None
    (_tid, seller, price, for_lease, max_lease, lease_pps, commitment, generation, _x) = s.call(
        market.functions.listings(token_id)
    )
    return {
        "seller": seller,
        **wei_fields("price", price),
        "for_sale": int(price) > 0,
        "for_lease": bool(for_lease),
        **wei_fields("lease_price_per_second", lease_pps),
        **wei_fields("lease_price_per_day", int(lease_pps) * 86400),
        "max_lease_s": int(max_lease),
        "key_commitment": "0x" + bytes(commitment).hex(),
        "generation": int(generation),
    }


def show_model(settings: Settings, token_id: int) -> dict:
    with Session(settings) as s:
        rec = read_record(s, token_id)
        meta = public_metadata(s, rec["metadataURI"])
        nft = s.nft
        from zoo_cli.workflows.session import task_id

        # one call: every task's score and whether a VERIFIER's report set it (a self-attested
        # score can sit next to `verified` = true when the verifier's report covered other tasks)
        values, flags = s.call(nft.functions.getTaskScores(token_id, [task_id(t) for t in TASKS]))
        shown = {t for t, v in zip(TASKS, values) if v or t in (meta.get("task_scores") or {})}
        scores = {t: int(v) for t, v in zip(TASKS, values) if t in shown}
        task_verified = {t: bool(f) for t, f in zip(TASKS, flags) if t in shown}
        user = s.call(nft.functions.userOf(token_id))
        expires = int(s.call(nft.functions.userExpires(token_id)))
        zero = "0x0000000000000000000000000000000000000000"
        rewards = 0
        try:
            rewards = int(s.call(s.contract("TrainingRewards").functions.modelRewards(token_id)))
        except Exception:  # noqa: BLE001
            rewards = 0
        zk = policy_hash = None
        try:
            zk = int(s.call(nft.functions.zkPerformance(token_id)))
            ph = bytes(s.call(nft.functions.policyHash(token_id)))
            policy_hash = "0x" + ph.hex() if any(ph) else None
        except Exception:  # noqa: BLE001 - not every deployment carries the zk module
            zk = None
        return {
            "token_id": token_id,
            "name": meta.get("name") or f"model #{token_id}",
            "owner": rec["owner"],
            "base_model": "0x" + bytes(rec["baseModel"]).hex(),
            "model_hash": "0x" + bytes(rec["modelHash"]).hex(),
            "cid": cid_of(rec["modelHash"]),
            "generation": int(rec["generation"]),
            "stage": stage_for(int(rec["trainingOps"])),
            "training_ops": int(rec["trainingOps"]),
            "performance": int(rec["performance"]),
            "task_scores": scores,
            "task_verified": task_verified,
            "verified": bool(rec["verified"]),
            "zk_performance": zk,
            "policy_hash": policy_hash,
            "specialization": meta.get("specialization") or rec["specialization"],
            "specializations": earned_specializations(s, token_id),
            "parents": [int(p) for p in rec["parents"]],
            "user": None if user == zero else user,
            "user_expires": expires or None,
            "listing": listing_of(s, token_id),
            **wei_fields("rewards", rewards),
            "last_updated": int(rec["lastUpdated"]),
            "token_uri": rec["metadataURI"] or None,
            "creator": rec["creator"],
            "ledger_head": "0x" + bytes(rec["ledgerHead"]).hex(),
            "ledger_entries": int(rec["ledgerCount"]),
            "model_kinds": meta.get("model_kinds", []),
        }

"""`zoo lease …`: free grants (ERC-4907 setUser + key delivery) and paid leases through the
marketplace escrow (offer / take / status).

A grant's key envelope is found by the lessee through the token's public metadata: the
owner stores the envelope (content key wrapped for the lessee's KeyRegistry bundle), adds
``key_envelopes[<lessee>] = {envelope, generation}`` to the tokenURI JSON and calls
``setTokenURI`` in the same workflow (docs/marketplace.md). ``keys.delivered_key`` reads it.
"""

from __future__ import annotations

from zoo_cli.chain.zoo import LOCKED_FOREVER
from zoo_cli.config import Settings
from zoo_cli.errors import BadInput, NotFound
from zoo_cli.units import format_duration, wei_fields
from zoo_cli.workflows.generation import ipfs_uri
from zoo_cli.workflows.market import (
    DELIVERED,
    DISPUTED,
    HOSTED,
    LEASE,
    PENDING,
    _list_tx,
    listing,
    order_json,
    orders_where,
    require_owner,
    require_unlocked,
)
from zoo_cli.workflows.session import Session

SECONDS_PER_DAY = 86_400
DEFAULT_MAX_LEASE_S = 30 * SECONDS_PER_DAY
#: Default shortest paid lease: one day. A key lease hands the generation's content key over
#: for good, so the cheapest lease is what the key costs; the owner raises it with --min /
#: --min-price (docs/marketplace.md).
DEFAULT_MIN_LEASE_S = SECONDS_PER_DAY
#: Longest lease the Marketplace accepts (MAX_LEASE_DURATION, 10 years).
MAX_LEASE_S = 3650 * SECONDS_PER_DAY
MAX_ENDPOINT = 256


def resolve_address(settings: Settings, who: str) -> str:
    """A checksummed address from an address or a keystore account name."""
    from eth_utils import is_address, to_checksum_address

    if is_address(who):
        return to_checksum_address(who)
    if who.lower().startswith("0x"):
        raise BadInput(f"invalid address {who!r}", hint="a 0x-prefixed 20-byte hex address or an account name")
    from zoo_cli.workflows.accounts import resolve_account

    return resolve_account(settings, who).address


def grant(settings: Settings, token_id: int, to: str, duration_s: int) -> dict:
    """Owner: make ``to`` the ERC-4907 user until now + duration and deliver the current key."""
    from zoo_cli.storage.backend import store_json
    from zoo_cli.storage.container import wrap_for
    from zoo_cli.workflows.keys import bundle_from_registry
    from zoo_cli.workflows.market import current_key
    from zoo_cli.workflows.models import cid_of, public_metadata

    lessee = resolve_address(settings, to)
    with Session(settings) as s:
        rec = require_owner(s, token_id)
        if lessee.lower() == s.address.lower():
            raise BadInput("the owner cannot lease to itself")
        require_unlocked(s, token_id)
        j = s.journal("lease-grant", token_id, lessee, duration_s)
        envelope = None
        uri = rec.metadata_uri
        if cid_of(rec.model_hash) is not None:
            bundle = bundle_from_registry(s, lessee)
            if bundle is None:
                raise NotFound(f"{lessee} has published no encryption keys, so no key can be delivered to it",
                               hint=f"the lessee runs `zoo --account {to} account publish-keys` first")
            key, cid = current_key(s, token_id, rec)
            envelope = j.step("envelope", lambda: str(wrap_for(s.storage, key, lessee, bundle, model_cid=cid)))

            def meta() -> str:
                doc = dict(public_metadata(s, rec.metadata_uri))
                envs = dict(doc.get("key_envelopes") or {})
                envs[lessee.lower()] = {"envelope": envelope, "generation": rec.generation}
                doc["key_envelopes"] = envs
                return ipfs_uri(store_json(s.storage, doc))

            uri = j.step("metadata", meta)
        expires = j.step("expires", lambda: s.now() + duration_s)
        res = s.transact(s.zoo.set_user(token_id, lessee, expires), journal=j, step="user")
        if uri != rec.metadata_uri:
            s.transact(s.zoo.set_token_uri(token_id, uri), journal=j, step="uri")
        j.finish()
        return {"token_id": token_id, "user": lessee, "user_expires": int(expires),
                "duration": format_duration(duration_s), "envelope_cid": envelope,
                "generation": rec.generation, "token_uri": uri, "tx_hash": res["tx_hash"]}


def offer(settings: Settings, token_id: int, price_per_day: int, max_s: int | None, *,
          min_s: int | None = None, min_price: int = 0, hosted: str | None = None) -> dict:
    """Owner: offer paid leases at per-day ÷ 86,400 wei per second (a sale price is kept),
    between ``min_s`` (default one day) and ``max_s`` (default 30 days), at least ``min_price``
    wei per lease; ``hosted`` (an endpoint URL) offers API access only, never the key."""
    pps = price_per_day // SECONDS_PER_DAY
    if pps <= 0:
        raise BadInput(f"--price-per-day must be at least {SECONDS_PER_DAY} wei (1 wei per second)",
                       hint="e.g. --price-per-day 0.01eth")
    max_s = max_s or DEFAULT_MAX_LEASE_S
    if max_s > MAX_LEASE_S:
        raise BadInput(f"--max {format_duration(max_s)} is longer than the marketplace's limit "
                       f"{format_duration(MAX_LEASE_S)}", hint="--max 3650d at most")
    if min_s is None:  # the default minimum never exceeds an explicitly shorter --max
        min_s = min(DEFAULT_MIN_LEASE_S, max_s)
    if min_s > max_s:
        raise BadInput(f"--min {format_duration(min_s)} is longer than --max {format_duration(max_s)}",
                       hint="lower --min or raise --max")
    if min_price < 0:
        raise BadInput("--min-price must not be negative")
    if hosted is not None:
        _check_endpoint(hosted)
    with Session(settings) as s:
        current = listing(s, token_id)
        price = int(current["price_wei"]) if current else 0
        j = s.journal("lease-offer", token_id, pps, max_s, min_s, min_price, hosted or "")
        terms = {"pps": pps, "min_s": min_s, "max_s": max_s, "min_price": min_price, "endpoint": hosted or ""}
        res = _list_tx(s, token_id, price=price, lease=terms, journal=j, step="list")
        j.finish()
        return {"token_id": token_id, **wei_fields("price_per_day", price_per_day),
                **wei_fields("lease_price_per_second", pps),
                **wei_fields("effective_price_per_day", pps * SECONDS_PER_DAY),
                "max_lease_s": max_s, "max_lease": format_duration(max_s),
                "min_lease_s": min_s, "min_lease": format_duration(min_s), **wei_fields("min_lease_price", min_price),
                "lease_kind": "hosted" if hosted else "key", "endpoint": hosted,
                **wei_fields("sale_price", price), **res}


def _check_endpoint(url: str) -> None:
    from urllib.parse import urlparse

    u = urlparse(url)
    if (u.scheme not in ("http", "https") or not u.netloc or len(url.encode()) > MAX_ENDPOINT
            or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url)):
        raise BadInput(f"--hosted {url!r} is not an http(s) URL of at most {MAX_ENDPOINT} bytes",
                       hint="e.g. --hosted https://models.example.org/zoo/1")


def take(settings: Settings, token_id: int, duration_s: int) -> dict:
    """Lessee: publish encryption keys if needed and pay price-per-second × duration into escrow
    (a hosted lease needs no keys and starts at once)."""
    from zoo_cli.workflows.keys import publish_keys

    with Session(settings) as s:
        j = s.journal("lease-take", token_id, duration_s)
        if j.get("lease") is None:  # not signed yet (a resumed payment skips the checks)
            current = listing(s, token_id)
            if not current or not current["for_lease"]:
                raise NotFound(f"token {token_id} is not offered for lease",
                               hint="the owner runs `zoo lease offer TOKEN --price-per-day AMOUNT`")
            if current["seller"].lower() == s.address.lower():
                raise BadInput(f"you own token {token_id}; no lease needed", hint="lease a model another account owns")
            require_unlocked(s, token_id)
            if duration_s > current["max_lease_s"]:
                raise BadInput(f"--for {format_duration(duration_s)} is longer than the offer's maximum "
                               f"{format_duration(current['max_lease_s'])}",
                               hint=f"ask for at most {format_duration(current['max_lease_s'])}")
            if duration_s < current["min_lease_s"]:
                raise BadInput(f"--for {format_duration(duration_s)} is shorter than the offer's minimum "
                               f"{format_duration(current['min_lease_s'])}",
                               hint=f"ask for at least {format_duration(current['min_lease_s'])}")
            cost = int(current["lease_price_per_second_wei"]) * duration_s
            if cost < int(current["min_lease_price_wei"]):
                raise BadInput(f"a {format_duration(duration_s)} lease costs {cost} wei, below the offer's minimum "
                               f"price {current['min_lease_price_eth']} ETH", hint="lease for longer")
            hosted = current["lease_kind"] == "hosted"
            j.step("cost", lambda: cost)
            j.step("offer", lambda: {"hosted": hosted, "endpoint": current.get("endpoint")})
        else:
            cost = int(j.result("cost"))
        offer_ = j.result("offer") or {}
        hosted = bool(offer_.get("hosted"))
        if not hosted:
            publish_keys(s, journal=j)
        res = s.transact(s.zoo.lease(token_id, duration_s), value=cost, journal=j, step="lease")
        j.finish()
        oid = int(next(e["args"]["orderId"] for e in res["events"] if e["name"] == "OrderOpened"))
        return {"order_id": oid, "token_id": token_id, "kind": "hosted-lease" if hosted else "lease",
                "status": "delivered" if hosted else "pending", "endpoint": offer_.get("endpoint"),
                "duration_s": duration_s, "duration": format_duration(duration_s), **wei_fields("paid", cost),
                "tx_hash": res["tx_hash"]}


def status(settings: Settings, token_id: int) -> dict:
    """Who uses the token until when (at the next block's chain time), its offer, open orders."""
    with Session(settings) as s:
        owner = s.zoo.model(token_id).owner
        now = s.now()
        user = s.zoo.user_of(token_id)
        expires = s.zoo.user_expires(token_id)
        active = bool(user and expires >= now)
        open_orders = orders_where(s, token_id=token_id, statuses=(PENDING, DELIVERED, DISPUTED))
        locked_until = s.zoo.market_state(token_id).locked_until
        return {
            "token_id": token_id, "owner": owner, "user": user if active else None,
            "user_expires": expires if active else None, "active": active, "now": now,
            "remaining_s": max(0, expires - now) if active else 0,
            # a pending order locks with the 2**40-1 sentinel ("until settled"); a paid lease until its end
            "locked": locked_until > now,
            "locked_until": locked_until if now < locked_until < LOCKED_FOREVER else None,
            "listing": listing(s, token_id),
            "orders": [order_json(o) for o in open_orders],
            "pending_leases": sum(1 for o in open_orders if o["kind_id"] in (LEASE, HOSTED)),
        }


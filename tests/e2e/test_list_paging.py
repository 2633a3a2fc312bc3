"""`zoo list --limit/--offset` on both backends, and the embedded devnet's incremental row
cache: after new blocks only the tokens their events name are re-read, and a token touched
after caching (transfer, domain change, new mint) shows its new state."""

from __future__ import annotations

import sqlite3

from e2e.test_market import addr, session
from e2e.zoocli import Zoo


def _ids(rows) -> list[int]:
    return [r["token_id"] for r in rows]


def test_list_limit_offset(zoo_env: Zoo):
    zoo = zoo_env
    for name in ("page-a", "page-b", "page-c"):
        zoo("mint", "--name", name)
    full = zoo("list").data
    assert len(full) >= 3
    for offset, limit in ((0, 2), (1, 2), (len(full) - 1, 5), (len(full), 3), (0, 0)):
        page = zoo("list", "--limit", limit, "--offset", offset).data
        assert page == full[offset:offset + limit], (offset, limit)
    assert zoo("list", "--offset", 1).data == full[1:]
    owner = full[-1]["owner"]
    mine = [r for r in full if r["owner"].lower() == owner.lower()]
    assert zoo("list", "--owner", owner, "--limit", 2, "--offset", 1).data == mine[1:3]
    assert zoo("list", "--limit", -1, expect=2).code == 2


def test_incremental_cache_rereads_only_touched_tokens(tmp_path):
    zoo = Zoo(tmp_path / "home")
    zoo("init", "--dev")
    a, b, c = (zoo("mint", "--name", n).data["token_id"] for n in ("inc-a", "inc-b", "inc-c"))
    cached = zoo("list").data
    assert _ids(cached) == [a, b, c]

    # mark token c's cached row: an incremental refresh leaves untouched rows alone
    db = zoo.home / "cache" / "list-1337.sqlite"
    conn = sqlite3.connect(str(db))
    row = conn.execute("SELECT row FROM rows WHERE token_id = ?", (c,)).fetchone()[0]
    conn.execute("UPDATE rows SET row = ? WHERE token_id = ?", (row.replace("inc-c", "inc-c*"), c))
    conn.commit()
    conn.close()

    dev1 = addr(zoo, "dev1")
    with session(zoo) as s:
        s.transact(s.nft.functions.transferFrom(s.address, dev1, a))
        s.transact(s.nft.functions.setDomain(b, 2))  # gaming
    d = zoo("mint", "--name", "inc-d").data["token_id"]

    rows = {r["token_id"]: r for r in zoo("list").data}
    assert list(rows) == [a, b, c, d]
    assert rows[a]["owner"].lower() == dev1.lower()  # transfer seen
    assert rows[b]["specialization"] == "Gaming" != cached[1]["specialization"]  # domain change seen
    assert rows[d]["name"] == "inc-d"  # new mint seen
    assert rows[c]["name"] == "inc-c*"  # not re-read: the refresh was incremental
    assert _ids(zoo("list", "--owner", dev1).data) == [a]
    assert _ids(zoo("list", "--specialization", "gaming").data) == [b]

    # a rebuilt cache (deleted file) agrees with the incremental one, except the marked row
    db.unlink()
    rebuilt = {r["token_id"]: r for r in zoo("list").data}
    assert rebuilt[c]["name"] == "inc-c"
    assert {k: v for k, v in rebuilt.items() if k != c} == {k: v for k, v in rows.items() if k != c}

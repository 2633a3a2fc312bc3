"""`zoo list` on the embedded devnet serves unchanged chain state from its head-keyed cache
(no chain opened, no py-evm/web3 import) and rebuilds the rows after any new block."""

from __future__ import annotations

import json
import subprocess
import sys

from e2e.zoocli import Zoo

PROBE = """
import runpy, sys
sys.argv = ["zoo", "--json", "list"]
try:
    runpy.run_module("zoo_cli", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in ("eth", "web3") if m in sys.modules)), file=sys.stderr)
""".replace("import runpy, sys", "import json, runpy, sys")


def _probe(zoo: Zoo) -> tuple[list, list]:
    """(rows, heavy chain modules imported) of one `zoo --json list` process."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=zoo.base_env(),
                         timeout=300, check=True)
    return json.loads(out.stdout), json.loads(out.stderr.strip().splitlines()[-1])


def test_list_cache_hit_and_invalidation(tmp_path):
    zoo = Zoo(tmp_path / "home")
    zoo("init", "--dev")
    a = zoo("mint", "--name", "cache-a").data["token_id"]
    cold, heavy = _probe(zoo)
    assert [r["token_id"] for r in cold] == [a] and heavy == ["eth", "web3"]
    warm, heavy = _probe(zoo)
    assert warm == cold and heavy == []  # served from the cache: the chain was not opened
    assert (zoo.home / "cache" / "list-1337.sqlite").exists()

    b = zoo("mint", "--name", "cache-b", "--specialization", "gaming").data["token_id"]  # a new block
    rows = zoo("list").data
    assert [r["token_id"] for r in rows] == [a, b] and rows[1]["name"] == "cache-b"
    assert [r["token_id"] for r in zoo("list", "--specialization", "gaming").data] == [b]
    owner = rows[0]["owner"]
    assert [r["token_id"] for r in zoo("list", "--owner", owner.lower()).data] == [a, b]
    assert zoo("list", "--owner", "0x" + "11" * 20).data == []

    # a corrupt cache file is ignored and rewritten
    (zoo.home / "cache" / "list-1337.sqlite").write_text("{not a database")
    assert zoo("list").data == rows
    assert _probe(zoo) == (rows, [])  # rewritten: the next listing is a cache hit again

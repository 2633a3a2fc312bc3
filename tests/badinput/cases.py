"""The bad-input corpus: one row per case. Add rows freely; a row whose command is not in
this build (`zoo --help`) is skipped until it lands.

Row fields: ``id``; ``argv`` (after the global options; ``{T}`` etc. are placeholders from
the ``world`` fixture: T trained dev0 token, P plain dev0 token, D1 dev1's token, L a dev0
token whose lease to dev2 expired, CID the trained container, DEV0/DEV3 addresses, ANVIL a
real anvil URL with no zoo deployment, F the folder of prepared bad files); ``code`` the
exit code CLI.md documents; ``account``; ``env``; ``setup`` a function
``(world) -> undo`` run before the "before" snapshot (for cases that need a broken file).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

OK, FAILED, USAGE, NOT_FOUND, PERMISSION, UNREACHABLE = 0, 1, 2, 3, 4, 5


@dataclass
class Case:
    id: str
    argv: list
    code: int
    account: str | None = None
    env: dict = field(default_factory=dict)
    setup: Callable | None = None
    needs: str | None = None  # command path; default: derived from argv
    report: bool | str = False  # True: data check report (line-numbered errors); "verify": history --verify report
    allow: tuple = ()  # $ZOO_HOME prefixes where additions are accepted (content-addressed blocks)
    known_defect: str = ""  # reported, not yet fixed (in a file another engineer is editing): xfail

    def command(self, known: frozenset[str]) -> str:
        if self.needs:
            return self.needs
        words, skip_next = [], False
        for a in self.argv:
            if skip_next:
                skip_next = False
                continue
            if isinstance(a, str) and a in GLOBAL_VALUE_OPTIONS:
                skip_next = True  # the option's value is not a command word
                continue
            if isinstance(a, str) and not a.startswith("-"):
                words.append(a)
        two = " ".join(words[:2])
        return two if two in known else (words[0] if words else "")


GLOBAL_VALUE_OPTIONS = {"--home", "--network", "--rpc", "--ipfs", "--account", "--password-file"}


# -- setup helpers: each returns the function that undoes it -------------------------------
def _replace_file(rel: str, content: bytes | None):
    def setup(world):
        path = world["zoo"].home / rel
        saved = path.read_bytes() if path.exists() else None
        if content is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

        def undo():
            if saved is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(saved)
        return undo
    return setup


def _move_away(rel: str):
    def setup(world):
        path = world["zoo"].home / rel
        aside = path.with_name(path.name + ".aside")
        shutil.move(path, aside)
        return lambda: shutil.move(aside, path)
    return setup


def _tamper_block(inner: str):
    """Flip one byte in a block of the trained token's container (``inner``: a path in it,
    with ``{owner}`` for the owner's key file)."""
    def setup(world):
        from zoo_cli.storage.embedded import EmbeddedStore

        store = EmbeddedStore(world["zoo"].home / "ipfs")
        try:
            name = inner
            if "{owner}" in inner:
                keys = store.ls(store.resolve(world["CID"], "keys"))
                name = "keys/" + next(k for k in keys if k.lower() == world["DEV0"].lower())
            cid = store.resolve(world["CID"], name)
            if cid.codec.name == "dag-pb":  # a chunked file: tamper its first leaf
                from zoo_cli.storage import dagpb
                from zoo_cli.storage.cids import parse_cid

                cid = parse_cid(dagpb.decode_node(store.get_block(cid)).links[0].hash)
            path = store._path(cid)
        finally:
            store.close()
        saved = path.read_bytes()
        data = bytearray(saved)
        data[len(data) // 2] ^= 0x01
        path.chmod(0o644)
        path.write_bytes(bytes(data))
        return lambda: path.write_bytes(saved)
    return setup


def _enospc(sub: str):
    def setup(world):
        from hardening.harness import enospc_env

        world["_env"] = enospc_env(world["root"], world["zoo"].home / sub)
        return lambda: world.pop("_env", None)
    return setup


BIG = "1" + "0" * 80

CASES: list[Case] = [
    # ---- JSONL files: data check ---------------------------------------------------------
    Case("check-malformed", ["data", "check", "{F}/malformed.jsonl"], USAGE, report=True),
    Case("check-binary", ["data", "check", "{F}/binary.jsonl"], USAGE, report=True),
    Case("check-huge-line", ["data", "check", "{F}/hugeline.jsonl"], USAGE, report=True),
    Case("check-empty", ["data", "check", "{F}/empty.jsonl"], USAGE),
    Case("check-blank-lines", ["data", "check", "{F}/blank.jsonl"], USAGE),
    Case("check-wrong-schema", ["data", "check", "{F}/wrongschema.jsonl"], USAGE, report=True),
    Case("check-missing-file", ["data", "check", "{F}/nope.jsonl"], USAGE),
    Case("check-directory", ["data", "check", "{F}"], USAGE),
    Case("check-bad-domain", ["data", "check", "{F}/malformed.jsonl", "--domain", "poker"], USAGE, report=True),
    # ---- JSONL files: train (nothing trained, nothing recorded) ----------------------------
    Case("train-malformed", ["train", "{T}", "{F}/malformed.jsonl", "--steps", "1"], USAGE),
    Case("train-binary", ["train", "{T}", "{F}/binary.jsonl", "--steps", "1"], USAGE),
    Case("train-huge-line", ["train", "{T}", "{F}/hugeline.jsonl", "--steps", "1"], USAGE),
    Case("train-empty", ["train", "{T}", "{F}/empty.jsonl", "--steps", "1"], USAGE),
    Case("train-wrong-schema", ["train", "{T}", "{F}/wrongschema.jsonl", "--steps", "1"], USAGE),
    Case("train-missing-file", ["train", "{T}", "{F}/nope.jsonl", "--steps", "1"], USAGE),
    Case("train-unknown-token", ["train", "999999", "{F}/good.jsonl", "--steps", "1"], NOT_FOUND),
    Case("train-not-owner", ["train", "{D1}", "{F}/good.jsonl", "--steps", "1"], PERMISSION),
    Case("train-steps-zero", ["train", "{T}", "{F}/malformed.jsonl", "--steps", "0"], USAGE),
    Case("train-rank-zero", ["train", "{T}", "{F}/malformed.jsonl", "--rank", "0"], USAGE),
    Case("train-lr-negative", ["train", "{T}", "{F}/malformed.jsonl", "--lr", "-1"], USAGE),
    Case("train-token-negative", ["train", "-5", "{F}/malformed.jsonl"], USAGE),
    # ---- data synth ------------------------------------------------------------------------
    Case("synth-bad-domain", ["data", "synth", "--domain", "poker", "--n", "5", "-o", "{F}/x.jsonl"], USAGE),
    Case("synth-n-zero", ["data", "synth", "--domain", "defi", "--n", "0", "-o", "{F}/x.jsonl"], USAGE),
    Case("synth-output-is-dir", ["data", "synth", "--domain", "defi", "--n", "5", "-o", "{F}"], USAGE),
    # ---- data import ---------------------------------------------------------------------------
    Case("import-not-an-address", ["data", "import", "--address", "0x1234", "-o", "{F}/imp.jsonl"], USAGE),
    Case("import-bad-checksum", ["data", "import", "--address", "0x70997970c51812dc3a010c7d01b50e0d17dc79C8",
                                 "-o", "{F}/imp.jsonl"], USAGE),
    Case("import-bad-domain", ["data", "import", "--address", "{DEV0}", "--domains", "gaming", "-o", "{F}/imp.jsonl"], USAGE),
    Case("import-bad-to-block", ["data", "import", "--address", "{DEV0}", "--to-block", "soon", "-o", "{F}/imp.jsonl"], USAGE),
    Case("import-output-is-dir", ["data", "import", "--address", "{DEV0}", "-o", "{F}"], USAGE),
    Case("import-unreachable", ["--rpc", "http://127.0.0.1:9", "data", "import", "--address", "{DEV0}",
                                "-o", "{F}/imp.jsonl"], UNREACHABLE),
    Case("import-wrong-chain-id", ["--network", "zoo-testnet", "--rpc", "{ANVIL}", "data", "import", "--address", "{DEV0}",
                                   "-o", "{F}/imp.jsonl"], UNREACHABLE),
    Case("import-csv-missing", ["data", "import", "--csv", "{F}/nope.csv", "--address", "{DEV0}", "-o", "{F}/imp.jsonl"], USAGE),
    Case("import-csv-not-export", ["data", "import", "--csv", "{F}/malformed.jsonl", "--address", "{DEV0}",
                                   "-o", "{F}/imp.jsonl"], USAGE),
    # ---- unknown tokens, bad token ids -----------------------------------------------------
    Case("show-unknown-token", ["show", "999999"], NOT_FOUND),
    Case("show-token-text", ["show", "abc"], USAGE),
    Case("show-token-huge", ["show", BIG], NOT_FOUND),
    Case("claim-unknown-token", ["claim", "999999"], NOT_FOUND),
    Case("lease-grant-unknown", ["lease", "grant", "999999", "--to", "dev3", "--for", "1d"], NOT_FOUND),
    Case("lease-status-unknown", ["lease", "status", "999999"], NOT_FOUND),
    Case("market-sell-unknown", ["market", "sell", "999999", "--price", "1eth"], NOT_FOUND),
    Case("market-buy-unknown", ["market", "buy", "999999"], NOT_FOUND, account="dev3"),
    Case("data-sell-unknown", ["data", "sell", "999999", "--price", "1eth", "--data", "{F}/good.jsonl"], NOT_FOUND),
    Case("fork-unknown", ["fork", "999999"], NOT_FOUND),
    Case("history-unknown", ["history", "999999"], NOT_FOUND),
    Case("value-unknown", ["value", "999999"], NOT_FOUND),
    Case("export-unknown", ["export", "999999", "-o", "{F}/out"], NOT_FOUND),
    Case("prove-unknown", ["prove", "999999"], NOT_FOUND),
    # ---- not owner / not lessee / expired lease --------------------------------------------
    Case("claim-not-owner", ["claim", "{D1}"], PERMISSION),
    Case("lease-grant-not-owner", ["lease", "grant", "{D1}", "--to", "dev3", "--for", "1d"], PERMISSION),
    Case("lease-offer-not-owner", ["lease", "offer", "{D1}", "--price-per-day", "0.01eth"], PERMISSION),
    Case("market-sell-not-owner", ["market", "sell", "{D1}", "--price", "1eth"], PERMISSION),
    Case("market-cancel-not-owner", ["market", "cancel", "{D1}"], PERMISSION),
    Case("data-sell-not-owner", ["data", "sell", "{D1}", "--price", "1eth", "--data", "{F}/good.jsonl"], PERMISSION),
    Case("fork-not-owner", ["fork", "{D1}"], PERMISSION, account="dev3"),
    Case("export-not-owner", ["export", "{T}", "-o", "{F}/out"], PERMISSION, account="dev3"),
    Case("ask-not-lessee", ["ask", "{T}", "pool=ETH/USDC apy=4.2 risk=low ->"], PERMISSION, account="dev3"),
    Case("ask-expired-lease", ["ask", "{L}", "pool=ETH/USDC apy=4.2 risk=low ->"], PERMISSION, account="dev2"),
    Case("data-get-not-bought", ["data", "get", "{T}", "-o", "{F}/got.jsonl"], PERMISSION, account="dev3"),
    # ---- accounts, passwords, keystores ----------------------------------------------------
    Case("account-unknown", ["mint", "--name", "x"], NOT_FOUND, account="ghost"),
    Case("account-show-unknown", ["account", "show", "ghost"], NOT_FOUND),
    Case("account-balance-unknown", ["account", "balance", "ghost"], NOT_FOUND),
    Case("account-new-existing", ["account", "new", "dev0"], USAGE, env={"ZOO_PASSWORD": "x-password-1"}),
    Case("account-new-bad-name", ["account", "new", "../evil"], USAGE, env={"ZOO_PASSWORD": "x-password-1"}),
    Case("import-missing-key-file", ["account", "import", "bob", "--private-key-file", "{F}/nope.key"], USAGE,
         env={"ZOO_PASSWORD": "x-password-1"}),
    Case("import-garbage-key", ["account", "import", "bob", "--private-key-file", "{F}/garbage.key"], USAGE,
         env={"ZOO_PASSWORD": "x-password-1"}),
    Case("import-corrupt-keystore", ["account", "import", "bob", "--keystore", "{F}/corrupt-keystore.json"], USAGE,
         env={"ZOO_PASSWORD": "x-password-1"}),
    Case("wrong-password-env", ["mint", "--name", "x"], PERMISSION, account="alice", env={"ZOO_PASSWORD": "wrong"}),
    Case("wrong-password-file", ["--password-file", "{F}/wrong.pw", "mint", "--name", "x"], PERMISSION,
         account="alice"),
    Case("password-file-missing", ["--password-file", "{F}/nope.pw", "mint", "--name", "x"], USAGE, account="alice"),
    Case("no-password-no-tty", ["mint", "--name", "x"], USAGE, account="alice"),
    Case("keystore-file-missing", ["mint", "--name", "x"], NOT_FOUND, account="alice",
         env={"ZOO_PASSWORD": "alice-password-1"}, setup=_move_away("keystore/alice.json")),
    Case("keystore-corrupt", ["mint", "--name", "x"], USAGE, account="alice",
         env={"ZOO_PASSWORD": "alice-password-1"}, setup=_replace_file("keystore/alice.json", b'{"address": 12, ')),
    # the journal is kept as the resume point of a rerun once funded; blocks are content-addressed
    Case("insufficient-funds", ["mint", "--name", "x"], FAILED, account="alice",
         env={"ZOO_PASSWORD": "alice-password-1"}, allow=("ipfs/", "journal/")),
    Case("insufficient-funds-lease", ["lease", "take", "{L}", "--for", "1d"], FAILED, account="alice",
         env={"ZOO_PASSWORD": "alice-password-1"}, allow=("journal/",)),
    # ---- networks: unreachable, wrong chain id, missing deployment, broken config -----------
    Case("rpc-unreachable-list", ["--rpc", "http://127.0.0.1:9", "list"], UNREACHABLE),
    Case("rpc-unreachable-mint", ["--rpc", "http://127.0.0.1:9", "mint", "--name", "x"], UNREACHABLE),
    Case("rpc-not-a-url", ["--rpc", "not a url", "list"], USAGE),
    Case("wrong-chain-id", ["--network", "zoo-testnet", "--rpc", "{ANVIL}", "list"], UNREACHABLE),
    Case("wrong-chain-id-local", ["--network", "local", "--rpc", "{ANVIL}", "show", "{T}"], UNREACHABLE),
    Case("missing-deployment", ["--network", "anvil", "--rpc", "{ANVIL}", "show", "1"], NOT_FOUND),
    Case("missing-deployment-mint", ["--network", "anvil", "--rpc", "{ANVIL}", "mint", "--name", "x"], NOT_FOUND),
    Case("unknown-network", ["--network", "nonet", "list"], USAGE),
    Case("ipfs-unreachable-mint", ["--ipfs", "/ip4/127.0.0.1/tcp/9", "mint", "--name", "x"], UNREACHABLE),
    Case("ipfs-bad-multiaddr", ["--ipfs", "nonsense", "mint", "--name", "x"], USAGE),
    Case("deployment-file-corrupt", ["list"], FAILED, setup=_replace_file("deployments/local-1337.json", b"{oops")),
    Case("config-corrupt", ["list"], USAGE, setup=_replace_file("config.toml", b"account = = 'dev0'\n[[[")),
    # ---- reverted transactions --------------------------------------------------------------
    Case("buy-not-listed", ["market", "buy", "{P}"], NOT_FOUND, account="dev3"),
    Case("lease-take-no-offer", ["lease", "take", "{P}", "--for", "1d"], NOT_FOUND, account="dev3"),
    Case("data-buy-not-offered", ["data", "buy", "{T}"], NOT_FOUND, account="dev3"),
    Case("confirm-unknown-order", ["market", "confirm", "999999"], NOT_FOUND, account="dev3"),
    Case("refund-unknown-order", ["market", "refund", "999999"], NOT_FOUND, account="dev3"),
    Case("dispute-unknown-order", ["market", "dispute", "999999"], NOT_FOUND, account="dev3"),
    Case("lease-take-too-long", ["lease", "take", "{L}", "--for", "400d"], USAGE, account="dev3"),
    Case("lease-take-too-short", ["lease", "take", "{L}", "--for", "1h"], USAGE, account="dev3"),
    Case("market-reveal-unknown-order", ["market", "reveal", "999999"], NOT_FOUND),
    Case("market-arbitrate-not-arbiter", ["market", "arbitrate", "999999"], PERMISSION, account="dev3"),
    Case("market-arbitrate-unknown-order", ["market", "arbitrate", "999999"], NOT_FOUND, account="dev7"),
    Case("market-order-unknown", ["market", "order", "999999"], NOT_FOUND),
    Case("market-finalize-unknown-order", ["market", "finalize", "999999"], NOT_FOUND, account="dev3"),
    Case("data-sell-not-in-ledger", ["data", "sell", "{P}", "--price", "1eth", "--data", "{F}/good.jsonl"], USAGE),
    Case("buy-own-token", ["market", "buy", "{T}"], NOT_FOUND),
    # ---- tampered storage ---------------------------------------------------------------
    Case("tampered-key-block", ["lease", "grant", "{T}", "--to", "dev3", "--for", "1d"], FAILED,
         setup=_tamper_block("{owner}")),
    Case("tampered-payload-fork", ["fork", "{T}"], FAILED, setup=_tamper_block("payload.enc")),
    Case("tampered-payload-verify", ["history", "{T}", "--verify"], FAILED, setup=_tamper_block("payload.enc"),
         report="verify"),
    Case("ipfs-cat-invalid-cid", ["ipfs", "cat", "bafyNOTACID"], USAGE),
    Case("ipfs-cat-unknown-cid", ["ipfs", "cat", "bafkreibavzicvwfenkiyrkhcqazuupji55lr4rn6mjiajqvun5ubaa2cau"],
         NOT_FOUND),
    Case("ipfs-add-missing-file", ["ipfs", "add", "{F}/nope.bin"], USAGE),
    # ---- durations and amounts ------------------------------------------------------------
    Case("duration-garbage", ["lease", "grant", "{T}", "--to", "dev3", "--for", "soon"], USAGE),
    Case("duration-zero", ["lease", "grant", "{T}", "--to", "dev3", "--for", "0s"], USAGE),
    Case("duration-negative", ["lease", "grant", "{T}", "--to", "dev3", "--for", "-1d"], USAGE),
    Case("duration-unit", ["lease", "take", "{T}", "--for", "3y"], USAGE, account="dev3"),
    Case("duration-overflow", ["lease", "grant", "{T}", "--to", "dev3", "--for", BIG + "d"], USAGE),
    Case("address-garbage", ["lease", "grant", "{T}", "--to", "0x1234", "--for", "1d"], USAGE),
    Case("list-owner-garbage", ["list", "--owner", "0xnothex"], USAGE),
    Case("list-bad-specialization", ["list", "--specialization", "Poker"], USAGE),
    Case("mint-bad-specialization", ["mint", "--specialization", "Poker"], USAGE),
    Case("mint-missing-base", ["mint", "--base", "{F}/no-such-model"], NOT_FOUND),
    Case("amount-garbage", ["market", "sell", "{T}", "--price", "lots"], USAGE),
    Case("amount-negative", ["market", "sell", "{T}", "--price", "-1eth"], USAGE),
    Case("amount-bad-unit", ["market", "sell", "{T}", "--price", "5doge"], USAGE),
    Case("amount-overflow", ["market", "sell", "{T}", "--price", BIG + "eth"], USAGE),
    Case("amount-sub-wei", ["market", "sell", "{T}", "--price", "0.5wei"], USAGE),
    Case("lease-price-garbage", ["lease", "offer", "{T}", "--price-per-day", "cheap"], USAGE),
    Case("lease-max-garbage", ["lease", "offer", "{T}", "--price-per-day", "0.01eth", "--max", "forever"], USAGE),
    Case("lease-min-above-max", ["lease", "offer", "{T}", "--price-per-day", "0.01eth", "--min", "10d", "--max", "5d"],
         USAGE),
    Case("lease-max-too-long", ["lease", "offer", "{T}", "--price-per-day", "0.01eth", "--max", "4000d"], USAGE),
    Case("lease-min-price-garbage", ["lease", "offer", "{T}", "--price-per-day", "0.01eth", "--min-price", "lots"],
         USAGE),
    Case("lease-hosted-bad-url", ["lease", "offer", "{T}", "--price-per-day", "0.01eth", "--hosted", "javascript:x"],
         USAGE),
    Case("lease-hosted-url-control-chars", ["lease", "offer", "{T}", "--price-per-day", "0.01eth", "--hosted",
                                            "https://x.example/\x1b[2J"], USAGE),
    Case("data-price-garbage", ["data", "sell", "{T}", "--price", "1..2eth", "--data", "{F}/good.jsonl"], USAGE),
    Case("advance-garbage", ["devnet", "advance", "a while"], USAGE),
    Case("advance-negative", ["devnet", "advance", "-1d"], USAGE),
    # ---- merge ----------------------------------------------------------------------------
    Case("merge-one-token", ["merge", "{T}"], USAGE),
    Case("merge-same-token-twice", ["merge", "{T}", "{T}"], USAGE),
    Case("merge-untrained", ["merge", "{T}", "{P}"], NOT_FOUND),
    Case("merge-bad-method", ["merge", "{T}", "{L}", "--method", "average"], USAGE),
    Case("merge-bad-weights", ["merge", "{T}", "{L}", "--weights", "1,x"], USAGE),
    Case("merge-not-owner", ["merge", "{T}", "{D1}"], PERMISSION),
    # ---- disk full --------------------------------------------------------------------------
    Case("disk-full-store", ["mint", "--name", "full"], FAILED, setup=_enospc("ipfs")),
    Case("disk-full-keystore", ["account", "new", "carol"], FAILED, env={"ZOO_PASSWORD": "carol-password-1"},
         setup=_enospc("keystore")),
    Case("disk-full-journal", ["mint", "--name", "full2"], FAILED, setup=_enospc("journal"),
         allow=("ipfs/",)),  # the metadata block stored before the journal write: same CID on rerun,
    # ---- usage --------------------------------------------------------------------------------
    Case("unknown-command", ["frobnicate"], USAGE, needs="list"),
    Case("unknown-option", ["list", "--frobnicate"], USAGE),
    Case("completions-bad-shell", ["completions", "powershell"], USAGE),
]

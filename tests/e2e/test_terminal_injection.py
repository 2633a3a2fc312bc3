"""Terminal injection (issue 13, item 9): strings read from the chain or IPFS are shown as
plain text with control characters removed, piped and on a terminal.

The hostile strings are set directly on-chain (``setTokenURI`` sent by the project's own tx
pipeline, bypassing every check `zoo` makes at input): a public-metadata document whose name
and specialization carry Rich markup, an OSC 8 hyperlink, a BEL, a colour escape and a bidi
override, and a second token whose token URI itself is such a string.
"""

from __future__ import annotations

import os
import pty
import subprocess

import pytest

from e2e.zoocli import ZOO

HOSTILE = ("[/][link=http://evil.example]click[/link][blink]x[/blink]"
           "\x1b]8;;http://evil.example\x07osc\x1b]8;;\x07\x1b[5mblink\x1b[0m\x07\u202eevil\x9b2J")
VISIBLE = "[/][link=http://evil.example]click[/link][blink]x[/blink]"  # markup stays literal text


def _run_tty(zoo, *args) -> tuple[int, bytes]:
    """Run `zoo` with stdout and stderr on a pseudo-terminal (Rich sees a real TTY)."""
    master, slave = pty.openpty()
    env = {**zoo.base_env(), "COLUMNS": "400", "LINES": "50", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(ZOO + [str(a) for a in args], stdin=slave, stdout=slave, stderr=slave,
                            env=env, cwd=str(zoo.home.parent), close_fds=True)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=300), bytes(out)


def _assert_inert(out: bytes | str, *, tty: bool) -> None:
    raw = out.encode() if isinstance(out, str) else out
    assert b"\x07" not in raw and b"\x1b]" not in raw  # no BEL, no OSC (hyperlinks, titles)
    assert b"\x1b[5m" not in raw and "\u202e".encode() not in raw and "\x9b".encode() not in raw
    if not tty:
        assert b"\x1b" not in raw  # piped: no escape sequence at all
    text = raw.decode("utf-8", "replace")
    assert "Traceback" not in text


@pytest.mark.embedded_only
def test_hostile_onchain_strings_render_as_plain_text(zoo_env):
    from zoo_cli.config import load_settings
    from zoo_cli.storage.backend import store_json
    from zoo_cli.workflows.session import Session

    zoo = zoo_env
    named = zoo("mint", "--name", "plain", account="dev1").data["token_id"]
    raw_uri = zoo("mint", "--name", "plain2", account="dev1").data["token_id"]
    with Session(load_settings(home=zoo.home, account="dev1")) as s:
        doc = {"name": HOSTILE, "specialization": HOSTILE, "ownership_history": [HOSTILE]}
        s.transact(s.nft.functions.setTokenURI(named, "ipfs://" + str(store_json(s.storage, doc))))
        s.transact(s.nft.functions.setTokenURI(raw_uri, HOSTILE))

    # piped
    listed = zoo("list", json_out=False, env={"COLUMNS": "400"})
    shown = zoo("show", named, json_out=False)
    for r in (listed, shown):
        _assert_inert(r.stdout + r.stderr, tty=False)
        assert VISIBLE in r.stdout  # markup is shown as the literal text it is
    # JSON keeps the exact on-chain string (escaped by json.dumps: no raw control bytes)
    j = zoo("show", raw_uri)
    assert j.data["token_uri"] == HOSTILE and "\x1b" not in j.stdout

    # on a terminal
    for args in (("list",), ("show", raw_uri)):
        code, out = _run_tty(zoo, *args)
        assert code == 0, out
        _assert_inert(out, tty=True)
        assert VISIBLE.encode() in out

    # errors quoting attacker-chosen text are cleaned too
    evil = "x\x1b]8;;http://evil\x07y\x1b[5m"
    r = zoo("account", "show", evil, json_out=False, expect=None)
    assert r.code != 0 and "error:" in r.stderr
    _assert_inert(r.stdout + r.stderr, tty=False)
    code, out = _run_tty(zoo, "account", "show", evil)
    assert code != 0 and b"error:" in out
    _assert_inert(out, tty=True)


def test_output_clean_and_table_never_interpret_markup():
    from rich.console import Console

    from zoo_cli import output

    assert output.clean("a\x1b[31mb\x07c\x9b\u202ed\te\nf") == "a[31mbcd\te\nf"
    assert output.clean("a\tb\nc", one_line=True) == "a b c"
    console = Console(force_terminal=True, width=400, record=True)
    console.print(output.table(["name"], [[HOSTILE], ["[/]"]], title="[/]"))
    text = console.export_text(styles=False)
    assert "[/]" in text and "[link=http://evil.example]" in text
    assert "\x1b]" not in console.export_text(styles=True)
    assert output.kv([("name", "a\nowner  0xEVIL")]) == "name  a owner  0xEVIL"

"""`zoo ipfs …`: plumbing on the current storage backend (embedded blockstore or --ipfs node)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import HostOpt, JsonOpt, new_app, settings_of, zoo_command

ipfs_app = new_app("IPFS plumbing on the current storage backend: add, cat, pin, CAR export/import.")
car_app = new_app("CAR v1 files: export a DAG, import blocks (each hash-checked).")
ipfs_app.add_typer(car_app, name="car")

CidArg = Annotated[str, typer.Argument(help="A CID (bafy…/bafk…).", show_default=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(ipfs_app, name="ipfs")


def _storage(s):
    from zoo_cli.storage.stores import open_storage

    return open_storage(s)


@ipfs_app.command("add")
@zoo_command
def add(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="File to add.", show_default=False)],
        json: JsonOpt = False) -> None:
    """Add a file; prints the CID `ipfs add --cid-version=1` gives on Kubo.

    Example: zoo ipfs add notes.txt
    """
    from zoo_cli import output
    from zoo_cli.storage import plumbing

    s = settings_of(ctx, json=json)
    with _storage(s) as st:
        data = plumbing.add(st, file)
    output.render(s, data, lambda d: f"added {d['cid']} ({d['size']} bytes)")


@ipfs_app.command("cat")
@zoo_command
def cat(ctx: typer.Context, cid: CidArg, json: JsonOpt = False) -> None:
    """Write a file's bytes (every block hash-verified) to stdout, whatever --json says."""
    import sys

    from zoo_cli.storage import plumbing

    s = settings_of(ctx, json=json)
    with _storage(s) as st:
        plumbing.cat(st, cid, sys.stdout.buffer)


@ipfs_app.command("pin")
@zoo_command
def pin(ctx: typer.Context, cid: CidArg, json: JsonOpt = False) -> None:
    """Pin a DAG (all of its blocks must be present) so gc keeps it."""
    from zoo_cli import output
    from zoo_cli.storage import plumbing

    s = settings_of(ctx, json=json)
    with _storage(s) as st:
        data = plumbing.pin(st, cid)
    output.render(s, data, lambda d: f"pinned {d['cid']}")


@ipfs_app.command("unpin")
@zoo_command
def unpin(ctx: typer.Context, cid: CidArg, json: JsonOpt = False) -> None:
    """Remove a pin; its blocks go at the next `zoo ipfs gc` unless another pin holds them."""
    from zoo_cli import output
    from zoo_cli.storage import plumbing

    s = settings_of(ctx, json=json)
    with _storage(s) as st:
        data = plumbing.unpin(st, cid)
    output.render(s, data, lambda d: f"unpinned {d['cid']}")


@ipfs_app.command("pins")
@zoo_command
def pins(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List pinned CIDs."""
    from zoo_cli import output

    s = settings_of(ctx, json=json)
    with _storage(s) as st:
        data = [{"cid": str(c)} for c in st.pins()]
    output.render(s, data, lambda d: "\n".join(r["cid"] for r in d) or "no pins")


@ipfs_app.command("gc")
@zoo_command
def gc(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Delete blocks that no pin reaches."""
    from zoo_cli import output
    from zoo_cli.storage import plumbing

    s = settings_of(ctx, json=json)
    with _storage(s) as st:
        data = plumbing.gc(st)
    output.render(s, data, lambda d: f"removed {d.get('removed', d)} unpinned block(s)")


@ipfs_app.command("serve")
@zoo_command
def serve(
    ctx: typer.Context,
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port (0: any free port, printed on stderr).", min=0, max=65535)] = 8080,
    json: JsonOpt = False,
) -> None:
    """Serve the embedded blockstore's published objects (pinned, not private) as an IPFS trustless gateway.

    Other machines fetch models with `zoo --gateway http://HOST:PORT …`: GET /ipfs/{cid}?format=raw
    or ?format=car (every block is checked by the client). Runs until SIGTERM (exit 0) or Ctrl-C (130).

    Example: zoo ipfs serve --host 0.0.0.0 --port 8080
    """
    import json as jsonlib
    import sys
    import time

    from zoo_cli import output
    from zoo_cli.errors import EXIT_INTERRUPTED, BadInput
    from zoo_cli.services.gateway import serve as run

    s = settings_of(ctx, json=json)
    if s.ipfs:
        raise BadInput("zoo ipfs serve publishes the embedded blockstore; --ipfs names a Kubo node",
                       hint="drop --ipfs (a Kubo node has its own gateway: `ipfs config Addresses.Gateway`)")

    def log(event: str, **fields) -> None:  # structured logs: one JSON object per line on stderr
        if s.quiet and event == "request":
            return
        sys.stderr.write(jsonlib.dumps({"ts": round(time.time(), 3), "event": event, **fields}) + "\n")
        sys.stderr.flush()

    bound: dict = {}

    def ready(h: str, p: int) -> None:
        bound.update(host=h, port=p)
        log("listening", url=f"http://{h}:{p}", home=str(s.home))

    stopped_by = run(s.ipfs_dir, host, port, log=log, ready=ready)
    output.render(s, {"url": f"http://{bound.get('host', host)}:{bound.get('port', port)}", "stopped_by": stopped_by or "SIGINT"},
                  lambda d: f"gateway at {d['url']} stopped ({d['stopped_by']})")
    if stopped_by is None:
        raise typer.Exit(EXIT_INTERRUPTED)


@car_app.command("export")
@zoo_command
def car_export(ctx: typer.Context, cid: CidArg,
               out: Annotated[Path, typer.Option("-o", "--out", help="CAR file to write.", show_default=False)],
               json: JsonOpt = False) -> None:
    """Write the DAG under CID to a CAR v1 file (importable with `ipfs dag import`)."""
    from zoo_cli import output
    from zoo_cli.storage import plumbing

    s = settings_of(ctx, json=json)
    with _storage(s) as st:
        data = plumbing.car_export(st, cid, out)
    output.render(s, data, lambda d: f"wrote {d['blocks']} blocks of {d['cid']} to {d['path']}")


@car_app.command("import")
@zoo_command
def car_import(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="CAR v1 file.", show_default=False)],
               json: JsonOpt = False) -> None:
    """Import every block of a CAR file (each hash-checked) and pin its roots."""
    from zoo_cli import output
    from zoo_cli.storage import plumbing

    s = settings_of(ctx, json=json)
    with _storage(s) as st:
        data = plumbing.car_import(st, file)
    output.render(s, data, lambda d: "imported " + ", ".join(d["roots"]) if d["roots"] else "imported (no roots)")

"""`zoo verifier serve|rotate`: the verifier service, run by the holder of a VERIFIER key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import HostOpt, JsonOpt, new_app, settings_of, zoo_command

verifier_app = new_app("The verifier service: verified reports and specialization proofs over HTTP (docs/verifier.md).")


def register(app: typer.Typer) -> None:
    app.add_typer(verifier_app, name="verifier")


@verifier_app.command("serve")
@zoo_command
def serve(
    ctx: typer.Context,
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8765,
    workers: Annotated[int, typer.Option("--workers", help="Evaluation worker processes (with --ray auto: the local cluster's CPUs).", min=1)] = 1,
    ray: Annotated[str | None, typer.Option("--ray", help="Run evaluations on a Ray cluster: auto (start a local one), ray://HOST:PORT (Ray Client) or HOST:PORT (the head's GCS). Needs the cluster extra.", show_default=False)] = None,
    log_file: Annotated[Path | None, typer.Option("--log-file", help="Append JSON-line logs here instead of stderr.", show_default=False)] = None,
    rate_limit: Annotated[float, typer.Option("--rate-limit", help="Signed requests per minute per signer address.", min=1)] = 60,
) -> None:
    """Serve verified training reports and specialization proofs for the selected (VERIFIER) account.

    Run it in the verifier's own $ZOO_HOME, whose keystore holds the verifier key only.
    Stops gracefully on SIGTERM; accepted jobs persist and resume at the next start.

    Example: ZOO_HOME=~/.zoo-verifier zoo --account verifier verifier serve --port 8765

    On a Ray cluster (docs/verifier.md): zoo --account verifier verifier serve --ray 10.0.0.5:6379
    """
    from zoo_cli.services.verifier import serve_verifier

    s = settings_of(ctx)
    serve_verifier(s, host, port, workers=workers, log_file=log_file, address_per_minute=rate_limit,
                   ip_per_minute=max(600.0, rate_limit * 10), ray=ray)


@verifier_app.command("rotate")
@zoo_command
def rotate(ctx: typer.Context, json: JsonOpt = False) -> None:
    """Retire the current private evaluation sets; the next evaluations create and register fresh ones.

    Sets also rotate by themselves after `rotate_every` evaluations ([verifier] in config.toml, default 8) and after seven days.

    Example: zoo verifier rotate
    """
    from zoo_cli import output
    from zoo_cli.workflows.verifier import rotate as run

    s = settings_of(ctx, json=json)
    data = run(s)
    output.render(s, data, lambda d: f"retired {d['count']} evaluation set(s); fresh ones are created on next use")

"""`zoo serve`: the owner-run model API (docs/serve.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from zoo_cli.commands.common import HostOpt, settings_of, zoo_command


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


@zoo_command
def serve(
    ctx: typer.Context,
    host: HostOpt = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8780,
    max_models: Annotated[int, typer.Option("--max-models", help="Warm models kept in memory (LRU).", min=1)] = 8,
    warm_memory: Annotated[str, typer.Option("--warm-memory", help="Memory for warm models' weights (one shared base per base model + each adapter), LRU beyond: 512MiB, 4GiB.")] = "4GiB",
    queue: Annotated[int, typer.Option("--queue", help="Requests waiting for the model at once; more get 429 + Retry-After.", min=1)] = 64,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a request may take before 504.", min=1)] = 30.0,
    rate_limit: Annotated[float, typer.Option("--rate-limit", help="Signed requests per minute per signer address.", min=1)] = 600,
    no_batching: Annotated[bool, typer.Option("--no-batching", help="Answer one request per forward pass (no shared batches).")] = False,
    log_file: Annotated[Path | None, typer.Option("--log-file", help="Append JSON-line logs here instead of stderr.", show_default=False)] = None,
) -> None:
    """Serve the selected account's models over HTTP to their owner, active users and hosted lessees.

    Requests are EIP-712 signed; rights come from chain state (owner, ERC-4907 user, paid hosted
    lease). The content keys never leave this process; answers are signed by the serving account.
    Stops gracefully on SIGTERM. API: docs/serve.md, /openapi.json.

    Example: zoo --account alice serve --port 8780
    """
    from zoo_cli.services.model_api import serve_models
    from zoo_cli.units import parse_size

    max_memory = parse_size(warm_memory)
    s = settings_of(ctx)
    serve_models(s, host, port, log_file=log_file, max_models=max_models, max_memory=max_memory, queue=queue,
                 timeout_s=timeout, batching=not no_batching, address_per_minute=rate_limit, ip_per_minute=max(6000.0, rate_limit * 10))

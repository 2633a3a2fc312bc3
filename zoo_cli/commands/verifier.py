"""`zoo verifier serve|evaluate-pending|rotate`: the verifier service, run by the holder of a VERIFIER key."""

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


@verifier_app.command("evaluate-pending")
@zoo_command
def evaluate_pending(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option("--workers", help="Evaluation worker processes (with --ray auto: the local cluster's CPUs).", min=1)] = 1,
    ray: Annotated[str | None, typer.Option("--ray", help="Run evaluations on a Ray cluster: auto (start a local one), ray://HOST:PORT (Ray Client) or HOST:PORT (the head's GCS). Needs the cluster extra.", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Evaluate every request submitted to this verifier that has no report yet, in one batch.

    Runs the evaluation requests `zoo verifier serve` accepted and has not reported (it was
    stopped, or the queue outgrew it) on local worker processes or a Ray cluster, and signs
    each report in this process. Rerunning skips what is already reported; an interrupted
    run resumes. Stop `zoo verifier serve` on this home first (it resumes the same requests).

    Example: ZOO_HOME=~/.zoo-verifier zoo --account verifier verifier evaluate-pending --ray 10.0.0.5:6379
    """
    from zoo_cli import output
    from zoo_cli.workflows.verifier import evaluate_pending as run

    s = settings_of(ctx, json=json)
    with output.progress(s) as p:
        data = run(s, workers=workers, ray=ray, progress=p.callback("evaluating"))

    def human(d: dict) -> str:
        lines = [f"evaluated {d['evaluated']}, already reported {d['skipped']}, failed {d['failed']} ({d['executor']})"]
        lines += [f"  token {r['token_id']} generation {r['generation']}: performance {r['performance']} (job {r['job']})"
                  for r in d["reports"]]
        lines += [f"  token {f['token_id']} generation {f['generation']}: {f['reason']}: {f['message']} (job {f['job']})"
                  for f in d["failures"]]
        return "\n".join(lines)

    output.render(s, data, human)


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

"""Typer sub-apps and top-level commands. Each module stays light to import."""

from __future__ import annotations

import typer


def register_all(app: typer.Typer) -> None:
    """Register every command; `zoo --help` lists them in this order."""
    from zoo_cli.commands import (
        account,
        completions,
        daemon,
        data,
        data_market,
        extras,
        ipfs,
        lease,
        lineage,
        market,
        models,
        query,
        rewards,
        serve,
        setup,
        verifier,
        zk,
    )

    setup.register(app)       # init, deploy, network, devnet
    account.register(app)
    models.register(app)      # mint, train, list, show
    lineage.register(app)     # fork, merge, history
    data.register(app)
    data_market.register(app)
    lease.register(app)
    market.register(app)
    rewards.register(app)     # claim
    extras.register(app)      # export, value, specialize
    query.register(app)       # ask, suggest
    serve.register(app)       # serve (the model API)
    zk.register(app)          # prove, verify-proof, zk
    ipfs.register(app)
    verifier.register(app)    # verifier serve, rotate
    daemon.register(app)      # daemon start/stop/status
    completions.register(app)

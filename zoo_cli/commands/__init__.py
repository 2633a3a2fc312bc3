"""Typer sub-apps and top-level commands. Each module stays light to import."""

from __future__ import annotations

import typer


def register_all(app: typer.Typer) -> None:
    from zoo_cli.commands import account, completions, data, models, setup
    from zoo_cli.commands import data_market, lease, market, rewards
    from zoo_cli.commands import zk
    from zoo_cli.commands import extras, ipfs, lineage, query

    setup.register(app)
    account.register(app)
    models.register(app)
    data.register(app)
    completions.register(app)
    lease.register(app)
    market.register(app)
    data_market.register(app)
    rewards.register(app)
    lineage.register(app)
    query.register(app)
    extras.register(app)
    ipfs.register(app)
    zk.register(app)

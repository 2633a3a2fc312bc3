"""Every bad-input case: documented exit code, one `error:` line + hint on stderr, no
traceback, an {"error": ...} document under --json, and no partial state ($ZOO_HOME files
and chain state equal before and after, logs and lock files aside)."""

from __future__ import annotations

import pytest
from hardening.harness import (
    available_commands,
    chain_state,
    diff_snapshots,
    error_contract_problems,
    snapshot_home,
)

from badinput.cases import CASES, Case


def _fill(value: str, world: dict) -> str:
    fields = {k: v for k, v in world.items() if isinstance(v, (int, str))}
    fields["F"] = str(world["files"])
    return str(value).format(**fields)


def test_corpus_is_big_enough():
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, world: dict):
    known = available_commands()
    cmd = case.command(known)
    if cmd not in known:
        pytest.skip(f"`zoo {cmd}` is not in this build yet")
    if "{ANVIL}" in " ".join(map(str, case.argv)) and world["anvil"] is None:
        pytest.skip("anvil not installed (npm ci)")
    zoo = world["zoo"]
    undo = case.setup(world) if case.setup else None
    try:
        argv = [_fill(a, world) for a in case.argv]
        env = {k: _fill(v, world) for k, v in case.env.items()}
        env.update(world.get("_env", {}))
        rpcs = (world["ANVIL"],) if world["anvil"] is not None else ()
        home_before, chain_before = snapshot_home(zoo.home), chain_state(zoo, rpcs)
        res = zoo.run(*argv, account=case.account, env=env, expect=None, timeout=300)
        home_after, chain_after = snapshot_home(zoo.home), chain_state(zoo, rpcs)
    finally:
        if undo:
            undo()
    problems = error_contract_problems(res, case.code, report=case.report)
    changed = [c for c in diff_snapshots(home_before, home_after)
               if not (c.startswith("added: ") and c[7:].startswith(case.allow or ("\0",)))]
    if changed:
        problems.append(f"$ZOO_HOME changed: {changed[:5]}")
    if chain_before != chain_after:
        problems.append("chain state changed")
    if problems and case.known_defect:
        pytest.xfail(f"known defect: {case.known_defect}")
    assert not problems, f"{case.id}: {problems}\n{res!r}"

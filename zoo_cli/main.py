"""The ``zoo`` command: global options and the command tree.

Only Typer and the light command modules are imported here, so ``zoo --help`` stays
fast; web3, torch and friends load inside the commands that need them.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from zoo_cli import __version__
from zoo_cli.commands import register_all
from zoo_cli.commands.common import JSON_HELP
from zoo_cli.config import load_settings

app = typer.Typer(
    name="zoo",
    help=(
        "Own your personal AI model as an NFT (ZIP-6): fine-tune a LoRA adapter on your "
        "DeFi, gaming, NFT, social and DAO interactions, encrypt it, store it on IPFS, "
        "mint it, then fork, merge, lease, sell, query and verify it.\n\n"
        "Start with:  zoo init --dev   then   zoo data synth --domain defi --n 2000 --seed 1 -o defi.jsonl"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"zoo {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    home: Annotated[str | None, typer.Option("--home", help="Data folder [env: ZOO_HOME] (default ~/.zoo).", show_default=False)] = None,
    network: Annotated[str | None, typer.Option("--network", help="Network name: local (embedded devnet), anvil, zoo-mainnet, zoo-testnet or one from config.toml [env: ZOO_NETWORK].", show_default=False)] = None,
    rpc: Annotated[str | None, typer.Option("--rpc", help="JSON-RPC URL of an EVM node [env: ZOO_RPC].", show_default=False)] = None,
    ipfs: Annotated[str | None, typer.Option("--ipfs", help="Kubo RPC address, e.g. /ip4/127.0.0.1/tcp/5001 [env: ZOO_IPFS] (default: embedded blockstore).", show_default=False)] = None,
    gateway: Annotated[list[str] | None, typer.Option("--gateway", metavar="URL", help="IPFS trustless gateway URL to fetch missing blocks from (every block hash-checked); repeatable, tried in order [env: ZOO_GATEWAYS; config: gateways].", show_default=False)] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account name or address [env: ZOO_ACCOUNT].", show_default=False)] = None,
    password_file: Annotated[str | None, typer.Option("--password-file", help="File holding the keystore password [env: ZOO_PASSWORD_FILE; ZOO_PASSWORD also read].", show_default=False)] = None,
    json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Answer yes to confirmations (accepted for scripts: no zoo command asks today).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only print results and errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs on stderr.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Global options apply to every command."""
    try:
        ctx.obj = load_settings(
            home=home, network=network, rpc=rpc, ipfs=ipfs, gateways=gateway, account=account,
            password_file=password_file, json=json, yes=yes, quiet=quiet, verbose=verbose,
        )
    except Exception as err:  # a broken config.toml must still give one clean line
        from zoo_cli import output
        from zoo_cli.errors import ZooError

        if isinstance(err, ZooError):
            if json:
                output.emit_json(err.to_json())
            output.error_line(err.message, err.hint)
            raise typer.Exit(err.code) from None
        raise


register_all(app)


def run() -> None:
    """Console-script entry point."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not os.environ.get("ZOO_DEBUG") and "--verbose" not in sys.argv and "-v" not in sys.argv:
        import warnings

        warnings.filterwarnings("ignore")  # library deprecation chatter is not for users; stderr stays one line
    if "_ZOO_COMPLETE" in os.environ:  # a shell asking for completions
        from typer.completion import completion_init

        completion_init()
    usage_errors, aborts = _click_exceptions()
    try:
        rv = _command()(standalone_mode=False, prog_name="zoo")
    except usage_errors as err:  # bad flag/argument: same contract as ZooError
        _usage_error(err)
    except aborts:
        sys.stderr.write("error: interrupted\nhint: rerun the same command to resume\n")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\nhint: rerun the same command to resume\n")
        sys.exit(130)
    sys.exit(rv if isinstance(rv, int) else 0)


# Metavars for options whose type says little (Click would print <str>, <int range>),
# matching the words the help prose uses.
_METAVARS = (("duration", "DURATION"), ("address", "ADDR"), ("url", "URL"), ("amount", "AMOUNT"),
             ("price", "AMOUNT"), ("file", "FILE"), ("folder", "DIR"), ("directory", "DIR"))


def _annotation(param):
    """The parameter's Python type (Optional[X] and list[X] unwrapped), or None."""
    import typing

    ann = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    for _ in range(3):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if not args:
            break
        ann = args[0]
    return ann


def _metavar(param) -> str | None:
    """A readable metavar for a Click parameter that has none (None: leave it)."""
    import enum
    from pathlib import Path

    if getattr(param, "metavar", None) or getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    ann = _annotation(param)
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return None  # the choices are listed
    if getattr(param, "param_type_name", "") == "argument":
        return (param.name or "ARG").upper()
    text = f"{param.name} {param.help or ''}".lower()
    for word, metavar in _METAVARS:
        if word in text:
            return metavar
    if ann is Path:
        return "FILE"
    if ann is int:
        return "N"
    if ann is float:
        return "NUMBER"
    return (param.name or "VALUE").strip("_").upper()


def _first_sentence(help_text: str) -> str:
    import re

    para = " ".join(help_text.strip().split("\n\n")[0].split())
    m = re.search(r"(?<!e\.g)(?<!i\.e)(?<!etc)\.(\s|$)", para)
    return para[: m.start() + 1] if m else para


def _plain_argument(param) -> None:
    """Typer prints a required argument as ``{token}`` in the usage line and ``<int range>``
    after its name; show ``TOKEN`` / ``[TOKEN]`` as the prose does (presentation only:
    parsing is untouched)."""
    name = (param.metavar or param.name or "ARG").upper()
    shown = name if param.required else f"[{name}]"
    if param.nargs != 1 and "..." not in shown:  # a metavar like ``TOKEN... PROMPT`` says it itself
        shown += "..."
    param._usage_display_name = lambda: shown
    param.display_type_rich = lambda *a, **k: ""


def _command():
    """The Click command tree of ``app``, with help polished (:func:`polish_help`)."""
    command = typer.main.get_command(app)
    polish_help(command)
    return command


def polish_help(command) -> None:
    """Make ``--help`` read like the docs: metavars TOKEN, FILE, ADDR, DURATION instead of
    ``<str>`` / ``{token}``; examples kept on one line (no rewrapping that splits an
    address); a command list that shows each command's whole first sentence."""
    seen = set()
    stack = [command]
    while stack:
        cmd = stack.pop()
        if id(cmd) in seen:
            continue
        seen.add(id(cmd))
        for param in cmd.params:
            metavar = _metavar(param)
            if metavar:
                param.metavar = metavar
            if getattr(param, "param_type_name", "") == "argument" and hasattr(param, "_usage_display_name"):
                _plain_argument(param)
        if cmd.help:
            cmd.help = cmd.help.replace("\n\nExample:", "\n\n\b\nExample:").replace("\n\nExamples:", "\n\n\b\nExamples:")
            if not cmd.short_help:
                cmd.short_help = _first_sentence(cmd.help)
        stack.extend(getattr(cmd, "commands", {}).values())


def _click_exceptions() -> tuple[tuple, tuple]:
    """(usage-error classes, abort classes) of the Click that Typer runs on.

    Typer >= 0.2x vendors Click as ``typer._click``; older ones use ``click``. ``typer.Abort``
    is public in both. A missing module must not turn every error into an AttributeError."""
    import typer

    aborts: tuple = (typer.Abort,)
    usage: tuple = ()
    for mod in ("typer._click.exceptions", "click.exceptions"):
        try:
            import importlib

            m = importlib.import_module(mod)
        except ImportError:
            continue
        usage += tuple(c for c in (getattr(m, "UsageError", None),) if c is not None)
        aborts += tuple(c for c in (getattr(m, "Abort", None),) if c is not None)
    return usage or (_NeverRaised,), aborts


class _NeverRaised(Exception):
    pass


def _usage_error(err) -> None:
    """A Click usage error as one `error:` line + hint (and the JSON document under --json)."""
    from zoo_cli import output
    from zoo_cli.errors import BadInput

    path = err.ctx.command_path if err.ctx is not None else "zoo"
    zerr = BadInput(err.format_message(), hint=f"see `{path} --help`", type_name="UsageError")
    if "--json" in sys.argv[1:]:
        output.emit_json(zerr.to_json())
    output.error_line(zerr.message, zerr.hint)
    sys.exit(zerr.code)


if __name__ == "__main__":
    run()

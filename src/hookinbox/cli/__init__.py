"""The ``hookinbox`` command: serve, check, send, inbox, demo.

::

    hookinbox serve [--config hookinbox.toml] [--host 127.0.0.1] [--port 8000] [--workers N]
    hookinbox check
    hookinbox send ENDPOINT [EVENT_TYPE] [--data JSON|@file] [--url URL]
    hookinbox inbox list|show|replay|purge|stats ...
    hookinbox demo [--serve]

:func:`main` is also the entry point for framework integrations: given an
``inbox``, the commands use it instead of reading ``--config`` (this is how
``manage.py hookinbox`` works). See ``docs/cli.md``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from hookinbox import __version__
from hookinbox.cli import check, demo, inbox_commands, send, serve
from hookinbox.cli._context import CommandError, Context
from hookinbox.cli._output import err
from hookinbox.errors import ConfigurationError
from hookinbox.inbox import Inbox

__all__ = ["build_parser", "main"]

_MODULES = (serve, check, send, inbox_commands, demo)


def build_parser(prog: str = "hookinbox", *, with_config: bool = True) -> argparse.ArgumentParser:
    """The argument parser; ``with_config=False`` drops ``--config``/``--store`` (an Inbox is given)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Receive webhooks: verify, de-duplicate, record, ack fast, process in the background.",
    )
    parser.add_argument("--version", action="version", version=f"hookinbox {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    if with_config:  # accepted before or after the command: `hookinbox -c x.toml serve` = `hookinbox serve -c x.toml`
        for p, default in ((parser, None), (common, argparse.SUPPRESS)):
            p.add_argument(
                "--config",
                "-c",
                metavar="PATH",
                default=default,
                help="settings file (default: $HOOKINBOX_CONFIG, else ./hookinbox.toml)",
            )
            p.add_argument(
                "--store",
                metavar="URL",
                default=default,
                help="store URL overriding the settings (default: $HOOKINBOX_STORE, else the settings' store, "
                "else sqlite:///hookinbox.db in the working directory)",
            )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _MODULES:
        module.add_parser(_WithParents(sub, common))
    return parser


class _WithParents:
    """Adds the shared options to every sub-command (and to nested ones)."""

    def __init__(self, sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser):
        self.sub = sub
        self.common = common

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        parents = [self.common] if self.common._actions else []
        return self.sub.add_parser(name, parents=parents, **kwargs)  # type: ignore[arg-type]

    def nested(self, parser: argparse.ArgumentParser, dest: str) -> _WithParents:
        return _WithParents(parser.add_subparsers(dest=dest, metavar="ACTION", required=True), self.common)


def main(argv: list[str] | None = None, *, inbox: Inbox | None = None, prog: str = "hookinbox") -> int:
    """Run one command; returns the exit status (0 ok, 1 a problem, 2 a usage error).

    When ``inbox`` is given, the commands use it instead of reading settings.
    """
    parser = build_parser(prog, with_config=inbox is None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0)
    ctx = Context(args, inbox)
    run: Callable[[Context], int] = args.run
    try:
        return run(ctx)
    except (CommandError, ConfigurationError) as exc:
        err(f"{prog}: error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()

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
import os
import sys
from collections.abc import Callable

from hookinbox import __version__
from hookinbox.cli import check, demo, inbox_commands, send, serve
from hookinbox.cli._context import CommandError, Context
from hookinbox.cli._output import err
from hookinbox.errors import ConfigurationError, SettingsErrors
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
    if with_config:  # accepted before or after the command: `hookinbox -c x.toml serve` = `hookinbox serve -c x.toml`
        _add_common(parser, None, {})
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _MODULES:
        module.add_parser(_WithParents(sub, with_config))
    return parser


_COMMON_HELP = {
    "config": "settings file (default: $HOOKINBOX_SETTINGS, else ./hookinbox.toml)",
    "store": "store URL overriding the settings (default: $HOOKINBOX_STORE, else the settings' store, "
    "else sqlite:///hookinbox.db in the working directory)",
}


def _add_common(parser: argparse.ArgumentParser, default: object, help_text: dict[str, str]) -> None:
    """``--config``/``--store`` on ``parser``: fresh actions each time, so a command may word its own help."""
    texts = {**_COMMON_HELP, **help_text}
    parser.add_argument("--config", "-c", metavar="PATH", default=default, help=texts["config"])
    parser.add_argument("--store", metavar="URL", default=default, help=texts["store"])


class _WithParents:
    """Adds the shared options to every sub-command (and to nested ones)."""

    def __init__(self, sub: argparse._SubParsersAction[argparse.ArgumentParser], with_config: bool):
        self.sub = sub
        self.with_config = with_config

    def add_parser(
        self, name: str, *, common_help: dict[str, str] | None = None, **kwargs: object
    ) -> argparse.ArgumentParser:
        """A sub-command; ``common_help`` rewords ``--config``/``--store`` for it (``demo`` uses its own defaults)."""
        parser = self.sub.add_parser(name, **kwargs)  # type: ignore[arg-type]
        if self.with_config:
            _add_common(parser, argparse.SUPPRESS, common_help or {})
        return parser

    def nested(self, parser: argparse.ArgumentParser, dest: str) -> _WithParents:
        return _WithParents(parser.add_subparsers(dest=dest, metavar="ACTION", required=True), self.with_config)


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
    except SettingsErrors as many:
        for one in many.errors:
            err(f"{prog}: error: {one}")
        return 1
    except ConfigurationError as exc:
        settings = ctx.loaded_settings()
        if settings is not None:  # a handler that does not import: say which file named it
            exc = settings.locate(exc)
        err(f"{prog}: error: {exc}")
        return 1
    except CommandError as exc:
        err(f"{prog}: error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `hookinbox inbox list | head`: the reader left; stop quietly
        _silence_stdout()
        return 0
    finally:
        ctx.close()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (captured): nothing to flush
        pass

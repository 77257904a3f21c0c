"""What every command shares: finding the settings file, building the Inbox, printing.

Precedence, the same for every command:

* settings file: ``--config PATH``, else ``$HOOKINBOX_CONFIG``, else ``./hookinbox.toml``;
* store: ``--store URL``, else ``$HOOKINBOX_STORE``, else ``store`` in the settings,
  else ``sqlite:///hookinbox.db`` in the working directory (absolute, so that
  every worker process and every later ``hookinbox inbox`` command in that
  directory finds the same file).

The settings file's directory is put on ``sys.path`` so that handler modules
kept next to it (``handlers = { "*" = "my_handlers:on_event" }``) import.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from pathlib import Path

from hookinbox.errors import ConfigurationError
from hookinbox.inbox import Inbox
from hookinbox.settings import Settings
from hookinbox.stores import StoreStats

__all__ = [
    "CONFIG_ENV",
    "STORE_ENV",
    "CommandError",
    "Context",
    "default_store",
    "load_settings",
    "reach_store",
    "redact",
]

CONFIG_ENV = "HOOKINBOX_CONFIG"
STORE_ENV = "HOOKINBOX_STORE"


class CommandError(Exception):
    """A problem the user can fix; printed as ``hookinbox: error: ...`` and exit status 1."""


def default_store(cwd: str | None = None) -> str:
    """``sqlite:///<working directory>/hookinbox.db``."""
    return "sqlite:///" + str(Path(cwd or os.getcwd()).resolve() / "hookinbox.db")


def config_path(given: str | None) -> Path:
    """The settings file the precedence rules pick; CommandError when there is none."""
    if given:
        return Path(given)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    here = Path("hookinbox.toml")
    if here.is_file():
        return here
    raise CommandError(f"no settings file: give --config PATH, set {CONFIG_ENV}, or create ./hookinbox.toml")


def load_settings(config: str | None, store: str | None = None) -> Settings:
    """Read and validate the settings file and apply the store precedence."""
    path = config_path(config)
    settings = Settings.from_file(path)
    url = store or os.environ.get(STORE_ENV)
    if url:
        settings = dataclasses.replace(settings, store=url)
    elif "store" not in settings.given:
        settings = dataclasses.replace(settings, store=default_store())
    add_import_dir(path.resolve().parent)
    return settings


def add_import_dir(directory: Path) -> None:
    """Let handler modules that sit next to the settings file import."""
    text = str(directory)
    if text not in sys.path:
        sys.path.insert(0, text)


class Context:
    """The parsed arguments, and the Inbox built from them on first use (or the one given)."""

    def __init__(self, args: argparse.Namespace, inbox: Inbox | None = None) -> None:
        self.args = args
        self._inbox = inbox
        self.owns_inbox = inbox is None

    @property
    def given_inbox(self) -> bool:
        return not self.owns_inbox

    def settings(self) -> Settings:
        if self._inbox is not None:
            return self._inbox.settings
        return load_settings(getattr(self.args, "config", None), getattr(self.args, "store", None))

    def inbox(self) -> Inbox:
        if self._inbox is None:
            self._inbox = Inbox(self.settings())
        return self._inbox

    def endpoint_name(self, name: str | None) -> str | None:
        """Check an ``--endpoint`` option against the settings."""
        if name is None:
            return None
        endpoints = self.inbox().endpoints
        if name not in endpoints:
            raise CommandError(f"no endpoint {name!r}; configured: {', '.join(endpoints)}")
        return name

    def close(self) -> None:
        if self.owns_inbox and self._inbox is not None:
            self._inbox.close()


_PASSWORD = re.compile(r"(://[^:/@]*):[^@/]*@")


def redact(url: str) -> str:
    """A store URL fit to print: ``postgresql://user:***@host/db``."""
    return _PASSWORD.sub(r"\1:***@", url)


def reach_store(inbox: Inbox) -> StoreStats:
    """Open the store and read its counts; CommandError naming the store when that fails."""
    url = redact(inbox.settings.store)
    try:
        return inbox.store.stats()
    except ConfigurationError:
        raise
    except ImportError as exc:
        raise CommandError(f"store {url}: {exc}") from None
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise CommandError(f"store {url}: unreachable: {type(exc).__name__}{': ' + first if first else ''}") from None

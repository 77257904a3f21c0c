"""What every command shares: finding the settings file, building the Inbox, printing.

Precedence, the same for every command:

* settings file: ``--config PATH``, else ``$HOOKINBOX_SETTINGS`` (``$HOOKINBOX_CONFIG``, its former
  name, still works with a deprecation warning), else ``./hookinbox.toml``;
* store: ``--store URL``, else ``$HOOKINBOX_STORE``, else ``store`` in the settings,
  else ``sqlite:///hookinbox.db`` in the working directory (absolute, so that
  every worker process and every later ``hookinbox inbox`` command in that
  directory finds the same file).

The settings file's directory is put on ``sys.path`` so that handler modules
kept next to it (``handlers = { "*" = "my_handlers:on_event" }``) import.

The commands that only read or change the store (``inbox list/show/stats/replay/purge``) work
with a store URL alone (``--store URL`` or ``$HOOKINBOX_STORE``): no settings file, no secrets.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from pathlib import Path

from hookinbox.errors import ConfigurationError
from hookinbox.inbox import Inbox
from hookinbox.settings import DEPRECATED_SETTINGS_ENV, SETTINGS_ENV, Settings, settings_path_from_env
from hookinbox.settings import load_settings as load_any
from hookinbox.stores import StoreStats

__all__ = [
    "CONFIG_ENV",
    "DEPRECATED_SETTINGS_ENV",
    "STORE_ENV",
    "CommandError",
    "Context",
    "default_store",
    "load_settings",
    "reach_store",
    "redact",
]

CONFIG_ENV = SETTINGS_ENV  # one variable for the CLI, workers and examples
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
    with warnings.catch_warnings(record=True) as caught:  # the CLI shows the deprecation, whatever the filters
        warnings.simplefilter("always", DeprecationWarning)
        env = settings_path_from_env()
    for w in caught:
        print(f"hookinbox: warning: {w.message}", file=sys.stderr)
    if env:
        return Path(env)
    here = Path("hookinbox.toml")
    if here.is_file():
        return here
    raise CommandError(f"no settings file: give --config PATH, set {CONFIG_ENV}, or create ./hookinbox.toml")


def load_settings(config: str | None, store: str | None = None) -> Settings:
    """Read and validate the settings file and apply the store precedence."""
    path = config_path(config)
    url = store or os.environ.get(STORE_ENV)
    settings = load_any(path, store=url or None, default_store=default_store())
    add_import_dir(path.resolve().parent)
    return settings


def store_only_settings(url: str) -> Settings:
    """Settings with a store and no endpoints: what the ``inbox`` commands need when given ``--store`` alone."""
    from hookinbox._settings_build import normalise_store_url

    return Settings(endpoints={}, store=normalise_store_url(url, key="--store"), source=f"--store {redact(url)}")


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

    def loaded_settings(self) -> Settings | None:
        """The settings in use once loaded (None before, or with a store URL alone)."""
        return self._inbox.settings if self._inbox is not None and self._inbox.settings.endpoints else None

    def store_inbox(self) -> Inbox:
        """An inbox for commands that only use the store: the settings file when it loads, else ``--store`` alone.

        With a store URL given (``--store``, ``$HOOKINBOX_STORE``), a missing settings file or one
        that does not validate here (a secret not set on this machine) is not needed.
        """
        if self._inbox is not None:
            return self._inbox
        url = getattr(self.args, "store", None) or os.environ.get(STORE_ENV)
        if url:
            try:
                self._inbox = Inbox(self.settings())
            except (ConfigurationError, CommandError):
                self._inbox = Inbox(store_only_settings(url))
            return self._inbox
        return self.inbox()

    def endpoint_name(self, name: str | None) -> str | None:
        """Check an ``--endpoint`` option against the settings (any name when only a store was given)."""
        if name is None:
            return None
        endpoints = self.store_inbox().endpoints
        if not endpoints:
            return name
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
    """Open the store and read its counts; CommandError naming the store, its setting and file when that fails."""
    s = inbox.settings
    url = redact(s.store)
    where = f" (hookinbox.store in {s.source})" if s.endpoints and "store" in s.given else ""
    try:
        return inbox.store.stats()
    except ConfigurationError:
        raise
    except ImportError as exc:
        from hookinbox._settings_build import store_driver_problem

        problem = store_driver_problem(s.store)
        raise CommandError(f"store {url}{where}: {problem or exc}") from None
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        detail = f"{type(exc).__name__}{': ' + first if first else ''}"
        raise CommandError(f"store {url}{where}: unreachable: {detail}") from None

"""The Django-configured inbox: built once from ``settings.HOOKINBOX``, rebuilt when it changes."""

from __future__ import annotations

import os
import threading
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

try:
    from django.conf import settings as django_settings
    from django.core.signals import setting_changed
    from django.db import close_old_connections
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hookinbox.django needs Django: pip install 'hookinbox[django]'") from exc

from hookinbox.errors import ConfigurationError
from hookinbox.handlers import Handler
from hookinbox.inbox import Inbox
from hookinbox.settings import Settings

__all__ = ["DjangoInbox", "build_inbox", "get_inbox", "on", "reset_inbox"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: the store when ``HOOKINBOX`` names none: the Django database, through the app's model
DEFAULT_STORE = "django://"

_registrations: list[tuple[Handler, str, str | None, str | None]] = []
_inbox: Inbox | None = None
_lock = threading.Lock()


def django_unit_of_work(fn: Callable[[], T]) -> T:
    """Close stale database connections around each unit of work an executor runs in its own threads.

    Django opens one connection per thread and only closes it around
    requests; these threads are not requests (see the Slack Bolt adapter).
    """
    close_old_connections()
    try:
        return fn()
    finally:
        close_old_connections()


class DjangoInbox(Inbox):
    """An :class:`Inbox` whose executor threads know about Django's connections."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        kwargs.setdefault("unit_of_work", django_unit_of_work)
        super().__init__(settings, **kwargs)
        self.liveness.kind = "django"


def _with_default_store(data: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(data)
    nested = out.get("hookinbox")
    if "store" in out or (isinstance(nested, Mapping) and "store" in nested):
        return out
    if isinstance(nested, Mapping):
        out["hookinbox"] = {**nested, "store": DEFAULT_STORE}
    else:
        out["store"] = DEFAULT_STORE
    return out


def load_settings(config: object = None) -> Settings:
    """Validate ``settings.HOOKINBOX`` (a dict, or a path to a TOML file); the store defaults to ``django://``."""
    if config is None:
        config = getattr(django_settings, "HOOKINBOX", None)
    if config is None:
        raise ConfigurationError("not set; a settings dict or the path of a TOML file", key="HOOKINBOX")
    if isinstance(config, Mapping):
        return Settings.from_dict(_with_default_store(config), source="settings.HOOKINBOX")
    if isinstance(config, (str, os.PathLike)):
        path = Path(config)
        try:
            with path.open("rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigurationError(f"settings file not found: {path}", key="HOOKINBOX") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"not valid TOML: {exc}", source=str(path)) from None
        return Settings.from_dict(_with_default_store(data), source=str(path), base_dir=path.parent)
    raise ConfigurationError(f"expected a dict or a path, got {type(config).__name__}", key="HOOKINBOX")


def build_inbox(config: object = None) -> DjangoInbox:
    """A new inbox from the settings, with the handlers registered by :func:`on` (not cached)."""
    inbox = DjangoInbox(load_settings(config))
    for fn, pattern, endpoint, name in list(_registrations):
        inbox.add_handler(fn, pattern, endpoint=endpoint, name=name)
    return inbox


def get_inbox() -> Inbox:
    """The project's inbox, built on first use (raises :class:`ConfigurationError` when misconfigured)."""
    global _inbox
    inbox = _inbox
    if inbox is None:
        with _lock:
            if _inbox is None:
                _inbox = build_inbox()
            inbox = _inbox
    return inbox


def reset_inbox() -> None:
    """Forget the inbox (draining its executor); the next :func:`get_inbox` rebuilds it."""
    global _inbox
    with _lock:
        old, _inbox = _inbox, None
    if old is not None:
        old.close()


def on(pattern: str = "*", *, endpoint: str | None = None, name: str | None = None) -> Callable[[F], F]:
    """Register a handler on the project's inbox (as :meth:`Inbox.on`); usable before settings are read.

    Put these in an app's ``webhooks.py``: the app config imports every
    installed app's ``webhooks`` module at start-up, as the admin does with
    ``admin.py``.
    """

    def deco(fn: F) -> F:
        with _lock:
            _registrations.append((fn, pattern, endpoint, name))
            inbox = _inbox
        if inbox is not None:
            inbox.add_handler(fn, pattern, endpoint=endpoint, name=name)
        return fn

    return deco


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "HOOKINBOX":
        reset_inbox()


setting_changed.connect(_on_setting_changed, dispatch_uid="hookinbox.django.conf")

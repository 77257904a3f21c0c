"""The Django-configured inbox: built once from ``settings.HOOKINBOX``, rebuilt when it changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

try:
    from django.conf import settings as django_settings
    from django.core.signals import setting_changed
    from django.db import close_old_connections
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hookinbox.django needs Django: pip install 'hookinbox[django]'") from exc

from hookinbox.errors import ConfigurationError
from hookinbox.handlers import Registrations
from hookinbox.inbox import Inbox
from hookinbox.settings import Settings, settings_path_from_env
from hookinbox.settings import load_settings as load_any

__all__ = ["DjangoInbox", "build_inbox", "get_inbox", "on", "registrations", "reset_inbox"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: the store when ``HOOKINBOX`` names none: the Django database, through the app's model
DEFAULT_STORE = "django://"

#: the project's handler registry: outlives the inbox (rebuilt when ``settings.HOOKINBOX`` changes)
registrations = Registrations()
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


def load_settings(config: object = None) -> Settings:
    """Validate ``settings.HOOKINBOX`` (a dict, or a path to a TOML file); the store defaults to ``django://``.

    Unset, ``$HOOKINBOX_SETTINGS`` names the file. One loader with Flask, the CLI and the workers:
    :func:`hookinbox.settings.load_settings`.
    """
    if config is None:
        config = getattr(django_settings, "HOOKINBOX", None)
    if config is None:
        config = settings_path_from_env()
    if config is None:
        raise ConfigurationError("not set; a settings dict or the path of a TOML file", key="HOOKINBOX")
    return load_any(config, default_store=DEFAULT_STORE, source="settings.HOOKINBOX", name="HOOKINBOX")  # type: ignore[arg-type]


def build_inbox(config: object = None) -> DjangoInbox:
    """A new inbox from the settings, with the handlers registered by :func:`on` (not cached)."""
    return registrations.bind(DjangoInbox(load_settings(config)))  # type: ignore[return-value]


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
        registrations.unbind(old)
        old.close()


def on(pattern: str = "*", *, endpoint: str | None = None, name: str | None = None) -> Callable[[F], F]:
    """Register a handler on the project's inbox (as :meth:`Inbox.on`); usable before settings are read.

    Put these in an app's ``webhooks.py``: the app config imports every
    installed app's ``webhooks`` module at start-up, as the admin does with
    ``admin.py``.
    """

    return registrations.on(pattern, endpoint=endpoint, name=name)


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "HOOKINBOX":
        reset_inbox()


setting_changed.connect(_on_setting_changed, dispatch_uid="hookinbox.django.conf")

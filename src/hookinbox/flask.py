"""Flask extension: webhooks on a Flask app, in front of Flask.

::

    app.config["HOOKINBOX"] = "hookinbox.toml"        # or a dict of the same shape
    hooks = HookInbox(app)                             # or hooks.init_app(app) in a factory

    @hooks.on("order.*", endpoint="shop")
    def on_order(event): ...

``init_app`` wraps ``app.wsgi_app`` with :class:`hookinbox.wsgi.WebhookMiddleware`,
so a delivery's raw body is read (and verified) before Flask, its request
parsing or its ``max_content_length`` touch the stream. The app's own routes
are untouched. The :class:`~hookinbox.inbox.Inbox` is kept on
``app.extensions["hookinbox"]``; handlers run in the inbox's thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

try:
    from flask import Flask, current_app, has_app_context
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hookinbox.flask needs Flask: pip install 'hookinbox[flask]'") from exc

from hookinbox.errors import ConfigurationError
from hookinbox.handlers import Handler
from hookinbox.inbox import Inbox
from hookinbox.wsgi import WebhookMiddleware

__all__ = ["HookInbox"]

F = TypeVar("F", bound=Callable[..., Any])

_Registration = tuple[Handler, str, str | None, str | None]


class HookInbox:
    """The Flask extension. Settings come from ``app.config["HOOKINBOX"]`` unless ``inbox`` is given.

    Handlers registered with :meth:`on` before :meth:`init_app` are added to
    every app initialised later (the app-factory pattern); handlers registered
    after it are added to the apps already initialised.
    """

    def __init__(self, app: Flask | None = None, *, inbox: Inbox | None = None) -> None:
        self._given = inbox
        self._registrations: list[_Registration] = []
        self._inboxes: list[Inbox] = []
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Build (or take) the inbox, add the registered handlers, and mount it on ``app``."""
        inbox = self._given if self._given is not None else _inbox_from_config(app.config.get("HOOKINBOX"))
        for fn, pattern, endpoint, name in self._registrations:
            inbox.add_handler(fn, pattern, endpoint=endpoint, name=name)
        inbox.load_handlers()  # import errors in configured handlers surface at start-up
        app.wsgi_app = WebhookMiddleware(app.wsgi_app, inbox)  # type: ignore[method-assign]
        app.extensions["hookinbox"] = inbox
        if inbox not in self._inboxes:
            self._inboxes.append(inbox)

    def on(self, pattern: str = "*", *, endpoint: str | None = None, name: str | None = None) -> Callable[[F], F]:
        """Register a handler, as :meth:`hookinbox.inbox.Inbox.on` does."""

        def deco(fn: F) -> F:
            self._registrations.append((fn, pattern, endpoint, name))
            for inbox in self._inboxes:
                inbox.add_handler(fn, pattern, endpoint=endpoint, name=name)
            return fn

        return deco

    @property
    def inbox(self) -> Inbox:
        """The current app's inbox (or the only one, outside an app context)."""
        if has_app_context():
            found = current_app.extensions.get("hookinbox")
            if isinstance(found, Inbox):
                return found
        if len(self._inboxes) == 1:
            return self._inboxes[0]
        raise RuntimeError("HookInbox is not initialised on this app; call init_app(app) first")


def _inbox_from_config(config: object) -> Inbox:
    if config is None:
        raise ConfigurationError('set app.config["HOOKINBOX"] to a settings dict or a TOML file path', key="HOOKINBOX")
    if not isinstance(config, (Mapping, str)) and not hasattr(config, "__fspath__"):
        raise ConfigurationError(f"expected a dict or a path, got {type(config).__name__}", key="HOOKINBOX")
    return Inbox.from_settings(config)  # type: ignore[arg-type, unused-ignore]

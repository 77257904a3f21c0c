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

``init_app`` also starts the inbox (:meth:`Inbox.startup`): the thread pool and its
sweeper begin with the app, so events left by a process that was killed are recovered
without waiting for the next delivery, as under ASGI's lifespan. Pass ``start=False``
to start it yourself (a pre-fork server: call ``hooks.inbox.startup()`` in each worker,
e.g. gunicorn's ``post_fork``).

``app.config["HOOKINBOX"]`` is read with :func:`hookinbox.settings.load_settings`
(a dict, a path, a :class:`Settings`); unset, ``$HOOKINBOX_SETTINGS`` names the file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

try:
    from flask import Flask, current_app, has_app_context
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("hookinbox.flask needs Flask: pip install 'hookinbox[flask]'") from exc

from hookinbox.errors import ConfigurationError
from hookinbox.handlers import Registrations
from hookinbox.inbox import Inbox
from hookinbox.settings import load_settings, settings_path_from_env
from hookinbox.wsgi import WebhookMiddleware

__all__ = ["HookInbox"]

F = TypeVar("F", bound=Callable[..., Any])


class HookInbox:
    """The Flask extension. Settings come from ``app.config["HOOKINBOX"]`` unless ``inbox`` is given.

    Handlers registered with :meth:`on` before :meth:`init_app` are added to
    every app initialised later (the app-factory pattern); handlers registered
    after it are added to the apps already initialised.
    """

    def __init__(
        self, app: Flask | None = None, *, inbox: Inbox | None = None, registrations: Registrations | None = None
    ) -> None:
        self._given = inbox
        #: the handler registry shared by every app this extension initialises (outlives each inbox)
        self.registrations = registrations if registrations is not None else Registrations()
        self._inboxes: list[Inbox] = []
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, start: bool = True) -> None:
        """Build (or take) the inbox, add the registered handlers, mount it on ``app`` and start it.

        Starting runs startup recovery and the sweeper now (events left by a killed process are
        handled without waiting for a delivery); ``start=False`` leaves that to the caller.
        """
        inbox = self._given if self._given is not None else _inbox_from_config(app.config.get("HOOKINBOX"))
        self.registrations.bind(inbox)
        try:
            inbox.load_handlers()  # import errors in configured handlers surface at start-up
        except ConfigurationError as exc:
            raise inbox.settings.locate(exc) from None
        app.wsgi_app = WebhookMiddleware(app.wsgi_app, inbox)  # type: ignore[method-assign]
        app.extensions["hookinbox"] = inbox
        if inbox not in self._inboxes:
            self._inboxes.append(inbox)
            inbox.settings.log_notes()
        if start:
            inbox.startup()

    def on(self, pattern: str = "*", *, endpoint: str | None = None, name: str | None = None) -> Callable[[F], F]:
        """Register a handler, as :meth:`hookinbox.inbox.Inbox.on` does (before or after :meth:`init_app`)."""
        return self.registrations.on(pattern, endpoint=endpoint, name=name)

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
        config = settings_path_from_env()
    if config is None:
        raise ConfigurationError(
            'set app.config["HOOKINBOX"] to a settings dict or a TOML file path (or set HOOKINBOX_SETTINGS)',
            key="HOOKINBOX",
        )
    if isinstance(config, Mapping):
        return Inbox(load_settings(config, source='app.config["HOOKINBOX"]'))
    return Inbox(load_settings(config, name="HOOKINBOX"))  # type: ignore[arg-type]

"""The dashboard next to the standalone receiver: ``hookinbox serve --dashboard``.

The dashboard answers under ``/dashboard``; everything else goes to the receiver. Its token is the
settings' ``dashboard_token`` when the settings have that key (``dashboard_token = "${DASHBOARD_TOKEN}"``),
else ``$HOOKINBOX_DASHBOARD_TOKEN``; without one, ``serve --dashboard`` refuses to start.
"""

from __future__ import annotations

from typing import Any

from hookinbox.asgi import ASGIApp, Receive, Scope, Send
from hookinbox.dashboard._core import Dashboard
from hookinbox.dashboard.asgi import DashboardASGI
from hookinbox.inbox import Inbox

__all__ = ["PREFIX", "with_dashboard"]

PREFIX = "/dashboard"


def with_dashboard(app: ASGIApp, inbox: Inbox, *, prefix: str = PREFIX, **options: Any) -> ASGIApp:
    """``app`` with the dashboard of ``inbox`` mounted at ``prefix`` (``options`` as :class:`Dashboard` takes)."""
    if "token" not in options and "auth" not in options:
        options["token"] = getattr(inbox.settings, "dashboard_token", None)  # None: the environment's
    dash = DashboardASGI(Dashboard(inbox, **options))

    async def combined(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == prefix or path.startswith(prefix + "/")):
            await dash({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)
            return
        await app(scope, receive, send)

    return combined

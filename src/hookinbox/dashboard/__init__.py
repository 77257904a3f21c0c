"""The inbox in a browser: see, search and replay events.

::

    from hookinbox import dashboard

    # Starlette / FastAPI: the host's own check decides who gets in
    app.mount("/hookinbox", dashboard.asgi_app(inbox, auth=lambda request: is_admin(request)))

    # Flask (or any WSGI app)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/hookinbox": dashboard.wsgi_app(inbox, auth=...)})

    # Django: path("hookinbox/", include("hookinbox.django.dashboard_urls"))   (staff only by default)

    # standalone: hookinbox serve --dashboard   (a login form; the token from $HOOKINBOX_DASHBOARD_TOKEN)

One framework-free core (:class:`Dashboard`: request in, response out, pages rendered with the Jinja2
templates shipped in this package), and thin ASGI, WSGI and Django shells. Server-rendered HTML that works
without JavaScript, except for the overview's chart (a small script shipped here; nothing from a CDN).
See docs/dashboard.md.
"""

from __future__ import annotations

from typing import Any

from hookinbox.dashboard._core import TOKEN_ENV, Dashboard
from hookinbox.dashboard._http import Request, Response
from hookinbox.inbox import Inbox

__all__ = ["TOKEN_ENV", "Dashboard", "Request", "Response", "asgi_app", "wsgi_app"]


def asgi_app(inbox: Inbox, **options: Any) -> Any:
    """An ASGI app serving the dashboard of ``inbox`` (``options`` as :class:`Dashboard` takes them)."""
    from hookinbox.dashboard.asgi import DashboardASGI

    return DashboardASGI(Dashboard(inbox, **options))


def wsgi_app(inbox: Inbox, **options: Any) -> Any:
    """A WSGI app serving the dashboard of ``inbox`` (``options`` as :class:`Dashboard` takes them)."""
    from hookinbox.dashboard.wsgi import DashboardWSGI

    return DashboardWSGI(Dashboard(inbox, **options))

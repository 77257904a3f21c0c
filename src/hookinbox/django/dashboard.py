"""The dashboard in a Django project: ``path("hookinbox/", include("hookinbox.django.dashboard_urls"))``.

Staff only by default (``staff_member_required``: anyone else is sent to the admin's login). Settings, all
optional, in ``settings.HOOKINBOX_DASHBOARD``::

    HOOKINBOX_DASHBOARD = {
        "show_bodies": False,        # show event bodies (off: they may be medical or payment data)
        "hours": 3,                  # the overview chart's span
        "page_size": 50,
        "permission": "myapp.auth.can_see_webhooks",   # request -> bool, checked after the staff check
    }

The view is a thin shell over :class:`hookinbox.dashboard.Dashboard`: every POST carries the dashboard's
own CSRF token (a cookie and a form field), so the view is exempt from Django's CSRF middleware, whose
token the dashboard's forms do not carry.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_exempt

from hookinbox.dashboard import Dashboard, Request
from hookinbox.django.conf import get_inbox
from hookinbox.inbox import Inbox

__all__ = ["dashboard_view"]

_lock = threading.Lock()
_built: tuple[Inbox, Any, Dashboard] | None = None


def _dashboard() -> Dashboard:
    """The dashboard of the project's inbox, rebuilt when the inbox or the settings change."""
    global _built
    inbox = get_inbox()
    config = getattr(settings, "HOOKINBOX_DASHBOARD", None) or {}
    with _lock:
        if _built is None or _built[0] is not inbox or _built[1] != config:
            options = {
                k: config[k] for k in ("show_bodies", "hours", "page_size", "max_replay", "title") if k in config
            }
            check = import_string(config["permission"]) if config.get("permission") else None
            auth = (lambda r: bool(check(r.native))) if check is not None else (lambda r: True)
            _built = (inbox, dict(config), Dashboard(inbox, auth=auth, **options))
        return _built[2]


@csrf_exempt
@staff_member_required
def dashboard_view(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every dashboard page under the include's prefix."""
    root = request.path[: len(request.path) - len(rest)].rstrip("/") if rest else request.path.rstrip("/")
    headers = {k.lower(): v for k, v in request.headers.items()}
    body = b""
    if request.method == "POST":  # Django has parsed the form already (urlencoded or multipart)
        body = urlencode(list(request.POST.items())).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    req = Request(
        method=request.method or "GET",
        path="/" + rest,
        root=root,
        query={k: v for k, v in request.GET.items() if v},
        headers=headers,
        body=body,
        secure=request.is_secure(),
        native=request,
    )
    reply = _dashboard().handle(req)
    response = HttpResponse(reply.body, status=reply.status)
    for name, value in reply.headers:
        if name == "set-cookie":
            continue  # set below, so that Django keeps every cookie
        response[name] = value
    for name, value in reply.headers:
        if name == "set-cookie":
            _set_cookie(response, value)
    return response


def _set_cookie(response: HttpResponse, header: str) -> None:
    parts = [p.strip() for p in header.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {p.partition("=")[0].lower(): p.partition("=")[2] for p in parts[1:]}
    response.set_cookie(
        name,
        value,
        path=attrs.get("path", "/"),
        max_age=int(attrs["max-age"]) if "max-age" in attrs else None,
        secure="secure" in attrs,
        httponly=True,
        samesite="Strict",
    )

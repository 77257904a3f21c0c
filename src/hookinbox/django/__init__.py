"""Django integration: an app with a view, a store on the Django database, the admin and checks.

::

    INSTALLED_APPS += ["hookinbox.django"]
    HOOKINBOX = "hookinbox.toml"          # or a dict of the same shape; store defaults to "django://"
    urlpatterns += [path("webhooks/", include("hookinbox.django.urls"))]

    # yourapp/webhooks.py, discovered like admin.py
    from hookinbox.django import on

    @on("order.*", endpoint="shop")
    def on_order(event): ...

``on`` registers into :data:`registrations` (a :class:`hookinbox.handlers.Registrations`), the
handler registry that outlives the inbox: a rebuilt inbox (``HOOKINBOX`` changed) gets them again.
Unset, ``HOOKINBOX`` falls back to the file named by ``$HOOKINBOX_SETTINGS``.

The view serves the endpoint whose configured ``path`` equals the request's
path (``request.path_info``), so endpoint paths are the full paths, the
``include()`` prefix included. Handlers run in the inbox's thread pool, with
stale database connections closed around each event.
"""

from __future__ import annotations

from hookinbox.django.conf import get_inbox, on, registrations, reset_inbox
from hookinbox.stores import register_store

__all__ = ["get_inbox", "on", "registrations", "reset_inbox"]

register_store("django", "hookinbox.django.store:DjangoStore")

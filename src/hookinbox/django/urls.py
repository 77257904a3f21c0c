"""``path("webhooks/", include("hookinbox.django.urls"))``: every configured endpoint under that prefix.

One catch-all route; the view picks the endpoint whose configured ``path``
equals the full request path, so configure paths as the public paths
(``/webhooks/shop`` with the include above). Unknown paths under the
prefix get a JSON 404.
"""

from __future__ import annotations

from django.urls import re_path

from hookinbox.django.views import webhook

app_name = "hookinbox"

urlpatterns = [re_path(r"^(?P<rest>.*)$", webhook, name="webhook")]

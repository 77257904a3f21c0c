"""``path("hookinbox/", include("hookinbox.django.dashboard_urls"))``: the dashboard, staff only.

See :mod:`hookinbox.django.dashboard` for its settings.
"""

from __future__ import annotations

from django.urls import re_path

from hookinbox.django.dashboard import dashboard_view

app_name = "hookinbox_dashboard"

urlpatterns = [re_path(r"^(?P<rest>.*)$", dashboard_view, name="dashboard")]

from __future__ import annotations

import json

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"echo": request.body.decode(), "post": dict(request.POST), "n": len(json.dumps(1))})


urlpatterns = [
    path("echo", echo),
    path("admin/", admin.site.urls),
    path("webhooks/", include("hookinbox.django.urls")),
    path("ops/hookinbox/", include("hookinbox.django.dashboard_urls")),
]

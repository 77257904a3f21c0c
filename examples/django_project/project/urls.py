from django.contrib import admin
from django.urls import include, path
from shipping.views import echo, index

urlpatterns = [
    path("", index),
    path("echo", echo),
    path("admin/", admin.site.urls),
    # serves every endpoint whose configured path starts with /webhooks/
    path("webhooks/", include("hookinbox.django.urls")),
]

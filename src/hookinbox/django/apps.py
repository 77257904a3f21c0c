"""The app config: discovers ``webhooks.py`` modules and registers the system checks."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.utils.module_loading import autodiscover_modules

from hookinbox.errors import ConfigurationError, SettingsErrors

__all__ = ["HookinboxConfig", "check_settings"]


class HookinboxConfig(AppConfig):
    name = "hookinbox.django"
    label = "hookinbox"
    verbose_name = "Webhook inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        autodiscover_modules("webhooks")
        checks.register(check_settings, "hookinbox")


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``manage.py check``: ``HOOKINBOX`` validates, and the handlers it names import.

    Each error carries the precise :class:`ConfigurationError` message, which
    names the settings key (``endpoints.shop.secret: empty; set CIMPLIFY_WEBHOOK_SECRET``).
    """
    if app_configs is not None and not any(c.label == "hookinbox" for c in app_configs):
        return []
    from hookinbox.django.conf import build_inbox

    try:
        inbox = build_inbox()
    except SettingsErrors as many:  # every mistake at once, one check message each
        return [
            checks.Error(str(exc), hint="See docs/settings.md.", obj="settings.HOOKINBOX", id="hookinbox.E001")
            for exc in many.errors
        ]
    except ConfigurationError as exc:
        return [checks.Error(str(exc), hint="See docs/settings.md.", obj="settings.HOOKINBOX", id="hookinbox.E001")]
    notes: list[checks.CheckMessage] = [
        checks.Warning(note, obj="settings.HOOKINBOX", id="hookinbox.W001") for note in inbox.settings.notes
    ]
    try:
        inbox.load_handlers()
    except ConfigurationError as exc:
        located = inbox.settings.locate(exc)
        return [*notes, checks.Error(str(located), obj="settings.HOOKINBOX", id="hookinbox.E002")]
    if inbox.settings.store.startswith("django:") and not apps.is_installed("hookinbox.django"):
        return [checks.Error("store django:// needs 'hookinbox.django' in INSTALLED_APPS", id="hookinbox.E003")]
    return notes

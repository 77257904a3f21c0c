"""The dashboard mounted in Django: staff only (staff_member_required), Django's store, its own CSRF token."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from hookinbox.django import get_inbox
from hookinbox.events import EventRecord

ROOT = "/ops/hookinbox/"


def user(name: str, *, staff: bool) -> User:
    found = User.objects.filter(username=name).first()
    if found is None:
        found = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=staff)
    return found


def client_for(name: str | None, *, staff: bool = False) -> Client:
    c = Client()
    if name is not None:
        c.force_login(user(name, staff=staff))
    return c


def seed() -> None:
    store = get_inbox().store
    for i, t in ((1, 100.0), (2, 200.0)):
        store.record(
            EventRecord(endpoint="shop", id=f"evt_dj_{i}", type="order.created", body=b'{"card": "4242"}',
                        headers={"webhook-signature": "v1,SECRETSIG"}, received_at=t)
        )  # fmt: skip
    store.claim("shop", "evt_dj_1", 300.0, 30)
    store.fail("shop", "evt_dj_1", 301.0, "ValueError: nope", None)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_anonymous_and_non_staff_are_refused() -> None:
    """Anyone not staff is sent to the admin login and sees no event."""
    seed()
    for c in (client_for(None), client_for("plain", staff=False)):
        r = c.get(ROOT + "events")
        assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
        assert c.post(ROOT + "event/replay", {"endpoint": "shop", "id": "evt_dj_1"}).status_code == 302
    assert get_inbox().store.get("shop", "evt_dj_1").status.value == "dead"


def test_staff_sees_pages_masked_and_acts_with_csrf() -> None:
    """Staff see the overview, the list and an event (signature masked, body hidden), and replay with CSRF only."""
    seed()
    c = client_for("ops", staff=True)
    overview = c.get(ROOT)
    assert overview.status_code == 200 and 'data-endpoint="shop"' in overview.content.decode()
    listing = c.get(ROOT + "events", {"status": "dead"}).content.decode()
    assert 'href="/ops/hookinbox/event?endpoint=shop&amp;id=evt_dj_1"' in listing and "evt_dj_2" not in listing
    page = c.get(ROOT + "event", {"endpoint": "shop", "id": "evt_dj_1"}).content.decode()
    assert "SECRETSIG" not in page and "4242" not in page and "ValueError: nope" in page
    assert c.post(ROOT + "event/replay", {"endpoint": "shop", "id": "evt_dj_1"}).status_code == 403
    r = c.post(ROOT + "event/replay", {"endpoint": "shop", "id": "evt_dj_1", "csrf": csrf_of(page)})
    assert r.status_code == 303 and r["Location"].startswith(ROOT + "event?")
    assert get_inbox().store.get("shop", "evt_dj_1").status.value in ("pending", "processing", "done")


@pytest.mark.parametrize("show", [True, False])
def test_settings_show_bodies(show: bool) -> None:
    """HOOKINBOX_DASHBOARD = {"show_bodies": True} shows bodies; the default hides them."""
    seed()
    with override_settings(HOOKINBOX_DASHBOARD={"show_bodies": show}):
        page = client_for("ops", staff=True).get(ROOT + "event", {"endpoint": "shop", "id": "evt_dj_2"})
    assert ("4242" in page.content.decode()) is show

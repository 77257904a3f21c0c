"""Handler registry: which functions run for which (endpoint, event type)."""

from __future__ import annotations

import fnmatch
import pkgutil
import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from hookinbox.errors import ConfigurationError

__all__ = ["Handler", "HandlerRegistry", "HandlerTarget", "Registrations", "import_handler", "resolve"]

Handler = Callable[..., Any]
F = TypeVar("F", bound=Callable[..., Any])


def resolve(ref: str, *, what: str = "object", key: str | None = None, source: str | None = None) -> Any:
    """The object named ``"package.module:attr"`` (or ``module:Class.attr``), via :func:`pkgutil.resolve_name`.

    Every failure is a :class:`ConfigurationError` naming the setting (``key``), the file it came
    from (``source``) and what was being imported (``what``: ``handler``, ``inbox``, ...). The one
    resolver for handler references and ``HOOKINBOX_INBOX`` alike.
    """
    module_name, colon, attr = ref.partition(":")
    if not colon or not module_name.strip() or not attr.strip():
        raise ConfigurationError(f'{what} {ref!r} is not "module:attribute"', key=key, source=source)
    try:
        return pkgutil.resolve_name(ref)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        detail = f"no module named {missing!r}"
        if missing != module_name and not module_name.startswith(missing + "."):
            detail += f" (imported by {module_name!r})"
        raise ConfigurationError(f"cannot import {what} {ref!r}: {detail}", key=key, source=source) from None
    except AttributeError:
        raise ConfigurationError(
            f"cannot import {what} {ref!r}: {module_name!r} has no {attr!r}", key=key, source=source
        ) from None
    except ConfigurationError:
        raise
    except Exception as exc:  # the module itself raised while importing: say so, with the error
        raise ConfigurationError(
            f"cannot import {what} {ref!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}",
            key=key,
            source=source,
        ) from exc


def import_handler(ref: str, key: str | None = None, source: str | None = None) -> Handler:
    """Import ``"package.module:function"`` (or ``module:Class.method``); must be callable."""
    obj = resolve(ref, what="handler", key=key, source=source)
    if not callable(obj):
        raise ConfigurationError(f"handler {ref!r} is not callable", key=key, source=source)
    return obj  # type: ignore[no-any-return]


def handler_name(fn: Handler) -> str:
    module = getattr(fn, "__module__", None) or type(fn).__module__
    qual = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}:{qual}"


class HandlerRegistry:
    """Patterns are an exact type (``order.created``), a glob (``order.*``) or ``*``.

    Each handler has a stable name (``module:qualname`` unless given), used to
    remember which handlers of an event already succeeded. Lookups are cached
    per (endpoint, type) and the cache is reset when a handler is added.
    """

    def __init__(self) -> None:
        self._entries: list[tuple[str | None, str, str, Handler]] = []  # endpoint, pattern, name, fn
        self._cache: dict[tuple[str, str], list[tuple[str, Handler]]] = {}
        self._lock = threading.Lock()

    def add(self, fn: Handler, pattern: str = "*", *, endpoint: str | None = None, name: str | None = None) -> None:
        entry_name = name or handler_name(fn)
        with self._lock:
            for ep, pat, n, _ in self._entries:
                if n == entry_name and ep == endpoint and pat == pattern:
                    return  # registering the same function twice (a re-import) is a no-op
            self._entries.append((endpoint, pattern, entry_name, fn))
            self._cache.clear()

    def match(self, endpoint: str, event_type: str) -> list[tuple[str, Handler]]:
        key = (endpoint, event_type)
        found = self._cache.get(key)
        if found is not None:
            return found
        with self._lock:
            out: list[tuple[str, Handler]] = []
            seen: set[str] = set()
            for ep, pat, name, fn in self._entries:
                if ep is not None and ep != endpoint:
                    continue
                if pat == event_type or pat == "*" or fnmatch.fnmatchcase(event_type, pat):
                    if name not in seen:
                        seen.add(name)
                        out.append((name, fn))
            self._cache[key] = out
            return out

    def has_async(self, endpoint: str) -> bool:
        """True when any handler that may run for ``endpoint`` is ``async def``."""
        from hookinbox.drive import is_async_callable

        return any(is_async_callable(fn) for ep, _, _, fn in self._entries if ep is None or ep == endpoint)

    def __len__(self) -> int:
        return len(self._entries)


class HandlerTarget(Protocol):
    """What registrations are added to: an :class:`~hookinbox.inbox.Inbox` (named structurally, so this
    module stays below the inbox)."""

    def add_handler(
        self, fn: Handler, pattern: str = "*", *, endpoint: str | None = None, name: str | None = None
    ) -> None: ...


IB = TypeVar("IB", bound=HandlerTarget)


class Registrations:
    """Handler registrations that outlive an :class:`~hookinbox.inbox.Inbox`: the one registry of the shells.

    ``@registrations.on(...)`` may run before any inbox exists (a Flask app factory, a Django
    app's ``webhooks.py`` imported before settings are read). :meth:`bind` adds every registration
    to an inbox and keeps it bound (weakly), so handlers registered later reach it too; a rebuilt
    inbox is simply bound again. Flask's :class:`~hookinbox.flask.HookInbox` keeps one per
    extension, :mod:`hookinbox.django` one per process (:data:`hookinbox.django.registrations`).
    """

    def __init__(self) -> None:
        self._entries: list[tuple[Handler, str, str | None, str | None]] = []
        self._bound: weakref.WeakSet[HandlerTarget] = weakref.WeakSet()
        self._lock = threading.Lock()

    def on(self, pattern: str = "*", *, endpoint: str | None = None, name: str | None = None) -> Callable[[F], F]:
        """Register a handler, as :meth:`Inbox.on` does; usable before any inbox exists."""

        def deco(fn: F) -> F:
            self.add(fn, pattern, endpoint=endpoint, name=name)
            return fn

        return deco

    def add(self, fn: Handler, pattern: str = "*", *, endpoint: str | None = None, name: str | None = None) -> None:
        with self._lock:
            self._entries.append((fn, pattern, endpoint, name))
            bound = list(self._bound)
        for inbox in bound:
            inbox.add_handler(fn, pattern, endpoint=endpoint, name=name)

    def bind(self, inbox: IB) -> IB:
        """Add every registration to ``inbox`` and keep adding later ones; returns ``inbox``."""
        with self._lock:
            entries = list(self._entries)
            self._bound.add(inbox)
        for fn, pattern, endpoint, name in entries:
            inbox.add_handler(fn, pattern, endpoint=endpoint, name=name)
        return inbox

    def remove(self, fn: Handler) -> None:
        """Forget every registration of ``fn`` for inboxes bound from now on (bound ones keep it)."""
        with self._lock:
            self._entries = [e for e in self._entries if e[0] is not fn]

    def unbind(self, inbox: HandlerTarget) -> None:
        with self._lock:
            self._bound.discard(inbox)

    @property
    def inboxes(self) -> list[HandlerTarget]:
        """The inboxes bound and still alive."""
        with self._lock:
            return list(self._bound)

    def __len__(self) -> int:
        return len(self._entries)

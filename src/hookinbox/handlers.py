"""Handler registry: which functions run for which (endpoint, event type)."""

from __future__ import annotations

import fnmatch
import importlib
import threading
from collections.abc import Callable
from typing import Any

from hookinbox.errors import ConfigurationError

__all__ = ["Handler", "HandlerRegistry", "import_handler"]

Handler = Callable[..., Any]


def import_handler(ref: str, key: str | None = None) -> Handler:
    """Import ``"package.module:function"`` (or ``module:Class.method``)."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ConfigurationError(f'{ref!r} is not "module:function"', key=key)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r} for handler {ref!r}: {exc}", key=key) from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(f"{module_name!r} has no {attr!r} (handler {ref!r})", key=key) from None
    if not callable(obj):
        raise ConfigurationError(f"handler {ref!r} is not callable", key=key)
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

"""Where an event's id, type, timestamp and data sit in a provider's payload.

Providers disagree: ``{id, type, data}``, ``{event_id, event_type, data}``,
``{event_name, event_data}`` with no id at all. An :class:`Envelope` names
the places with dotted paths (``data.object.id``) or headers, and derives a
stable id for providers that send none.

Limits checked here, at receive time, so that nothing is acked that a store
cannot keep or a worker cannot reload (each refusal is a 400 ``malformed``):
an id or type is a non-empty string of at most :data:`MAX_KEY_LENGTH` (255)
characters, without NUL or lone surrogates; a timestamp at most
:data:`MAX_TIMESTAMP_LENGTH` (64); JSON nested at most :data:`MAX_JSON_DEPTH`
(100) levels; a numeric id is a finite integer (``1.5``, ``NaN``, ``1e999``
and ``Infinity`` are refused; an integral float such as ``1e3`` keeps its
historical text ``"1000.0"``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookinbox.errors import ConfigurationError, MalformedPayload

__all__ = ["MAX_JSON_DEPTH", "MAX_KEY_LENGTH", "MAX_TIMESTAMP_LENGTH", "Envelope", "lookup", "parse_object"]

#: The longest id or type (characters): the SQL stores' column size.
MAX_KEY_LENGTH = 255
#: The longest timestamp string (characters): the SQL stores' column size.
MAX_TIMESTAMP_LENGTH = 64
#: The deepest JSON nesting accepted (objects and arrays): every parser, and the reload in a worker,
#: handles it; deeper bodies are refused before the 200.
MAX_JSON_DEPTH = 100

_MISSING = object()
_FIELD = re.compile(r"\{([^{}]+)\}")


def lookup(obj: Any, path: str, default: Any = None) -> Any:
    """Follow a dotted path (``event_data.status``, ``items.0.id``) through dicts and lists."""
    if type(obj) is dict and "." not in path:  # the usual case, a top-level field: one dict lookup
        return obj.get(path, default)
    cur = obj
    for part in path.split("."):
        if isinstance(cur, Mapping):
            if part not in cur:
                return default
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return default
    return cur


# every digit becomes "9", so a run of 19 nines marks a number orjson may turn into a float
_DIGITS_AS_NINES = bytes.maketrans(b"012345678", b"999999999")
_NINETEEN_DIGITS = b"9" * 19
_fast_loads: Callable[[bytes], Any] | None
try:  # optional speed-up (`pip install 'hookinbox[speed]'`): about 3x faster on a 1 KB event
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - depends on the environment
    _fast_loads = None


def parse_object(body: bytes) -> dict[str, Any]:
    """Parse the body as one JSON object; anything else is a 400.

    With orjson installed it parses first; whatever orjson refuses (NaN,
    UTF-16 bodies) is parsed again by the standard library, and a body with a
    run of 19+ digits goes to the standard library directly (orjson turns
    integers beyond 64 bits into floats, which would change a numeric id). So
    what is accepted, and how, does not depend on the extra.
    """
    if not body:
        raise MalformedPayload("empty body; expected a JSON object")
    try:
        if _fast_loads is not None and body.translate(_DIGITS_AS_NINES).find(_NINETEEN_DIGITS) < 0:
            try:
                payload = _fast_loads(body)
            except ValueError:
                payload = json.loads(body)
        else:
            payload = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedPayload("body is not valid JSON") from None
    except RecursionError:  # the standard library gives up around 1,000 levels: far past the limit
        raise MalformedPayload(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    if not isinstance(payload, dict):
        raise MalformedPayload(f"body is JSON {type(payload).__name__}, expected an object")
    # depth <= number of brackets: two C-speed counts clear almost every body without a walk
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and _deeper_than(payload, MAX_JSON_DEPTH):
        raise MalformedPayload(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return payload


def _deeper_than(obj: Any, limit: int) -> bool:
    """True if ``obj`` nests objects/arrays more than ``limit`` levels deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        cur, depth = stack.pop()
        if depth > limit:
            return True
        children = cur.values() if isinstance(cur, dict) else cur
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _checked(value: str, what: str, limit: int = MAX_KEY_LENGTH) -> str:
    """``value`` if a store can keep it as is; else MalformedPayload (a retry can never succeed)."""
    if len(value) > limit:
        raise MalformedPayload(f"{what} longer than {limit} characters")
    if "\x00" in value:
        raise MalformedPayload(f"{what} contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedPayload(f"{what} contains a lone surrogate (invalid Unicode)") from None
    return value


def _id_text(value: Any, where: str) -> str:
    """The text of a JSON id: strings as they are, integers exactly; other numbers are malformed."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise MalformedPayload(f"event id ({where}) is not a finite integer")
        return str(value)  # an integral float (1e3): "1000.0", as hookinbox has always stored it
    return str(value)


def _first_header(headers: Mapping[str, str], names: str, default: Any) -> Any:
    """The first non-empty header of a comma-separated list of names (``"svix-id, webhook-id"``)."""
    for name in names.split(","):
        value = headers.get(name.strip())
        if value:
            return value
    return default


@dataclass(frozen=True, slots=True)
class Envelope:
    """How to read one provider's envelope.

    ``id_header`` and ``type_header`` may name several headers, separated by
    commas; the first one present is used.

    The id comes from, in order: ``id_header``; the ``id`` path; ``id_template``
    (a string, or a table of event-type pattern → template); else it is
    derived from the body (``derive = "body"``: SHA-256 of the exact bytes,
    which a retry resends unchanged; ``"json"``: SHA-256 of the canonical JSON,
    for senders that re-serialise on retry). A template whose field is absent
    falls back to the derived id rather than collapsing distinct events into
    one key.
    """

    id: str | None = "id"
    type: str | None = "type"
    timestamp: str | None = None
    data: str | None = "data"
    id_header: str | None = None
    type_header: str | None = None
    id_template: str | dict[str, str] | None = None
    derive: str = "body"
    _templates: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.derive not in ("body", "json"):
            raise ConfigurationError(f"unknown {self.derive!r}; 'body' or 'json'", key="event.derive")
        templates: tuple[tuple[str, str], ...] = ()
        if isinstance(self.id_template, str):
            templates = (("*", self.id_template),)
        elif isinstance(self.id_template, dict):
            templates = tuple(self.id_template.items())
        object.__setattr__(self, "_templates", templates)

    @classmethod
    def from_options(cls, options: Mapping[str, Any], key: str) -> Envelope:
        allowed = {"id", "type", "timestamp", "data", "id_header", "type_header", "id_template", "derive"}
        unknown = set(options) - allowed
        if unknown:
            raise ConfigurationError(
                f"unknown option(s) {', '.join(sorted(unknown))}; takes {', '.join(sorted(allowed))}", key=key
            )
        kwargs: dict[str, Any] = {}
        for name in allowed:
            if name in options:
                value = options[name]
                if value == "":
                    value = None
                ok = value is None or isinstance(value, str) or (name == "id_template" and isinstance(value, dict))
                if not ok:
                    raise ConfigurationError("expected a string", key=f"{key}.{name}")
                kwargs[name] = value.lower() if name.endswith("_header") and isinstance(value, str) else value
        return cls(**kwargs)

    def event_type(self, payload: Mapping[str, Any], headers: Mapping[str, str]) -> str:
        value: Any = _MISSING
        if self.type_header:
            value = _first_header(headers, self.type_header, _MISSING)
        elif self.type:
            value = lookup(payload, self.type, _MISSING)
        if value is _MISSING or not isinstance(value, str) or not value:
            where = f"header {self.type_header}" if self.type_header else f"field {self.type!r}"
            raise MalformedPayload(f"missing event type ({where})")
        return _checked(value, "event type")

    def event_id(self, payload: Mapping[str, Any], headers: Mapping[str, str], body: bytes, event_type: str) -> str:
        """The event's id (see the class docstring); MalformedPayload if missing or not storable."""
        return _checked(self._event_id(payload, headers, body, event_type), "event id")

    def _event_id(self, payload: Mapping[str, Any], headers: Mapping[str, str], body: bytes, event_type: str) -> str:
        if self.id_header:
            value = _first_header(headers, self.id_header, None)
            if not value:
                raise MalformedPayload(f"missing event id (header {self.id_header})")
            return str(value)
        if self.id:
            value = lookup(payload, self.id, _MISSING)
            if value is _MISSING or value is None or value == "" or isinstance(value, (dict, list, bool)):
                raise MalformedPayload(f"missing event id (field {self.id!r})")
            return _id_text(value, f"field {self.id!r}")
        for pattern, template in self._templates:
            if fnmatch.fnmatchcase(event_type, pattern):
                rendered = self._render(template, payload)
                if rendered is not None:
                    return rendered
                break
        return self.derived_id(payload, body)

    def derived_id(self, payload: Mapping[str, Any], body: bytes) -> str:
        if self.derive == "json":
            canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
        return "sha256:" + hashlib.sha256(body).hexdigest()

    @staticmethod
    def _render(template: str, payload: Mapping[str, Any]) -> str | None:
        missing = False

        def field_value(m: re.Match[str]) -> str:
            nonlocal missing
            value = lookup(payload, m.group(1).strip(), _MISSING)
            if value is _MISSING or value is None or isinstance(value, (dict, list)):
                missing = True
                return ""
            return str(value)

        out = _FIELD.sub(field_value, template)
        return None if missing else out

    def event_timestamp(self, payload: Mapping[str, Any]) -> str | None:
        if not self.timestamp:
            return None
        value = lookup(payload, self.timestamp)
        return None if value is None else _checked(str(value), "event timestamp", MAX_TIMESTAMP_LENGTH)

    def event_data(self, payload: dict[str, Any]) -> Any:
        return lookup(payload, self.data) if self.data else payload


def __getattr__(name: str) -> object:
    if name == "EventMapping":  # the name before one name per concept
        import warnings

        warnings.warn("hookinbox.envelope.EventMapping is now Envelope", DeprecationWarning, stacklevel=2)
        return Envelope
    raise AttributeError(name)

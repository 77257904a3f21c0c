"""The test toolkit (tests/toolkit.py) is the only home of its helpers, and behaves as its docstrings say;
optional modules are required through tests/conftest.py's rule, never ``pytest.importorskip``."""

from __future__ import annotations

import ast
import asyncio
import time
from pathlib import Path

import pytest

import tests.conftest
from hookinbox.verifiers import build_verifier
from tests.conftest import require_module
from tests.toolkit import MERGED, Clock, Response, await_for, hmac_headers, wait_for, wait_status

TESTS = Path(__file__).resolve().parents[1]
TOOLKIT = TESTS / "toolkit.py"


def _modules() -> list[Path]:
    found = sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)
    assert TOOLKIT in found and len(found) > 50, found  # the walk sees the whole tree
    return found


def _helper_definitions(tree: ast.Module) -> list[tuple[str, int]]:
    """Functions, classes and assignments of a merged name: at module level or nested in a function
    (a method of a test class, such as ``Recorder.wait_for(n)``, is that class's business)."""
    out: list[tuple[str, int]] = []

    def visit(node: ast.AST, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                if child.name in MERGED and not (in_class and not isinstance(child, ast.ClassDef)):
                    out.append((child.name, child.lineno))
                visit(child, isinstance(child, ast.ClassDef))
            elif isinstance(child, ast.Assign | ast.AnnAssign) and not in_class:
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                out.extend((t.id, child.lineno) for t in targets if isinstance(t, ast.Name) and t.id in MERGED)
            else:
                visit(child, in_class)

    visit(tree, False)
    return out


def test_merged_helpers_are_defined_only_in_the_toolkit() -> None:
    """No module under tests/ but the toolkit defines a polling helper, a Clock, a Response, a Delivery or a
    signing helper again (every file is parsed, including those whose optional dependencies are missing)."""
    again = [
        f"{path.relative_to(TESTS.parent)}:{line}: {name}"
        for path in _modules()
        if path != TOOLKIT
        for name, line in _helper_definitions(ast.parse(path.read_text(), str(path)))
    ]
    assert again == [], "define these once, in tests/toolkit.py, and import them from there:\n" + "\n".join(again)
    defined = {name for name, _ in _helper_definitions(ast.parse(TOOLKIT.read_text()))}
    assert {"wait_for", "await_for", "wait_status", "Clock", "Response", "hmac_headers"} <= defined


def test_the_guard_sees_a_duplicate() -> None:
    """A nested ``wait_until`` or a module-level ``class Clock`` is found; a method ``wait_for`` is not."""
    code = "def t():\n    def wait_until(): pass\nclass Clock: pass\nclass R:\n    def wait_for(self): pass\n"
    assert _helper_definitions(ast.parse(code)) == [("wait_until", 2), ("Clock", 3)]


def test_no_importorskip_under_tests() -> None:
    """Optional modules go through require_module (skip locally, fail under CI=true), never importorskip."""
    direct = [
        f"{path.relative_to(TESTS.parent)}:{node.lineno}"
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute) and node.attr == "importorskip"
    ]
    assert direct == []


def test_require_module_returns_the_module_or_skips_or_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dotted name gives the submodule; a missing one skips, or fails when CI=true."""
    import json.decoder

    assert require_module("json.decoder") is json.decoder
    monkeypatch.delenv("HOOKINBOX_CORE_ONLY", raising=False)
    monkeypatch.setattr(tests.conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="no_such_module_for_hookinbox is not installed"):
        require_module("no_such_module_for_hookinbox")
    monkeypatch.setattr(tests.conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true and no_such_module_for_hookinbox is not installed"):
        require_module("no_such_module_for_hookinbox")


def test_wait_for_returns_the_value_or_times_out() -> None:
    """wait_for gives back the first truthy value; a condition never met fails naming what was awaited."""
    calls = iter([0, None, "", "ready"])
    assert wait_for(lambda: next(calls), 5, interval=0.001) == "ready"
    with pytest.raises(AssertionError, match=r"timed out after 0.05 s waiting for the moon"):
        wait_for(lambda: False, 0.05, "the moon")
    calls = iter([[], [1]])
    assert asyncio.run(await_for(lambda: next(calls), 5, interval=0.001)) == [1]
    with pytest.raises(AssertionError, match="waiting for nothing"):
        asyncio.run(await_for(lambda: 0, 0.05, "nothing"))


def test_wait_status_waits_for_the_stored_status() -> None:
    """wait_status returns the record once it has the status, and fails when it never gets it."""
    from hookinbox.events import EventRecord, Status
    from hookinbox.stores.memory import MemoryStore

    class Box:
        store = MemoryStore()

    Box.store.record(EventRecord(endpoint="generic", id="e1", type="t", body=b"{}", headers={}, received_at=1.0))
    assert wait_status(Box, "e1", Status.PENDING).id == "e1"
    with pytest.raises(AssertionError, match="e1 to be done"):
        wait_status(Box, "e1", Status.DONE, timeout=0.05)


def test_clock_response_and_signing() -> None:
    """The clock moves only by hand; a Response parses its JSON; hmac_headers verify as the generic scheme."""
    clock = Clock(1_000.0)
    assert clock() == 1_000.0 and clock.advance(5) == 1_005.0 and clock() == 1_005.0
    assert abs(Clock()() - time.time()) < 60
    assert Response(200, {}, b'{"received": true}').json() == {"received": True}
    body = b'{"id": "evt_1"}'
    headers = hmac_headers("whsec_abc123", body, "X-Webhook-Signature")
    verifier = build_verifier({"scheme": "hmac-sha256", "header": "X-Webhook-Signature", "secrets": ["whsec_abc123"]})
    verifier.verify({k.lower(): v for k, v in headers.items()}, body, time.time())  # raises if forged
    assert headers["Content-Type"] == "application/json"

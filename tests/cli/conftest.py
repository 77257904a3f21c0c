"""Fixtures for the CLI tests (helpers live in cli_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cli.cli_helpers import Server


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """Start servers for one test; every one still running is stopped afterwards."""
    servers: list[Server] = []

    def start(cwd: Path, *args: str) -> Server:
        server = Server(cwd, *args)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()

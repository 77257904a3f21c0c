"""Log lines a sender cannot forge (issue 16, row 11)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

import hookinbox
from hookinbox._logsafe import LOGGERS, logsafe

SRC = Path(hookinbox.__file__).parent


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain-id_1", "plain-id_1"),
        ("é ü 😀", "é ü 😀"),
        ("a\nb", "a\\nb"),
        ("\x00\x1b", "\\x00\\x1b"),
        ("\ud800", "\\ud800"),
    ],
)
def test_logsafe_escapes_only_what_is_not_printable(raw: str, shown: str) -> None:
    """Printable text (any script) stays as is; control characters and lone surrogates are escaped like repr."""
    assert logsafe(raw) == shown


@pytest.mark.parametrize("name", LOGGERS)
def test_every_hookinbox_logger_escapes_its_string_arguments(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """Each logger hookinbox uses escapes string arguments; other arguments are untouched."""
    caplog.set_level("INFO", logger=name)
    logging.getLogger(name).info("event %s (%s) attempt %d", "x\nFORGED", "ep", 3)
    assert caplog.records[-1].getMessage() == "event x\\nFORGED (ep) attempt 3"


def test_the_source_logs_under_no_other_name() -> None:
    """A new logger name in the source must be added to LOGGERS, or its lines would not be escaped."""
    names = set()
    for path in SRC.rglob("*.py"):
        names.update(re.findall(r"getLogger\(\"(hookinbox[^\"]*)\"\)", path.read_text()))
    assert names and names <= set(LOGGERS)

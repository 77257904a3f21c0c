"""Smoke test of the benchmark harness: --quick produces a well-formed table (speed is never asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import require_module

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "benchmarks" / "run.py"


@pytest.mark.slow
def test_quick_run_writes_a_well_formed_table(tmp_path: Path) -> None:
    """`run.py --quick` measures one configuration and writes its row, targets and metadata."""
    require_module("uvicorn")
    out = tmp_path / "bench.md"
    raw = tmp_path / "bench.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--output", str(out), "--json", str(raw)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text()
    assert "<!-- results:start -->" in text and "<!-- results:end -->" in text
    assert "`python benchmarks/run.py --quick" in text
    rows = [line for line in text.splitlines() if line.startswith("| uvicorn |")]
    assert len(rows) == 1, text
    cols = [c.strip() for c in rows[0].strip("|").split("|")]
    assert len(cols) == 14, cols
    assert cols[:5] == ["uvicorn", "raw", "memory", "0 s", "16"]
    bare, hook = float(cols[5]), float(cols[6])
    assert bare > 0 and hook > 0
    assert re.fullmatch(r"\*\*\d+%\*\*", cols[7])
    assert re.fullmatch(r"[\d.]+ / [\d.]+", cols[9])
    assert re.fullmatch(r"\d+ / \d+", cols[10])
    assert cols[12].startswith("0.0%"), "every signed, distinct delivery is acked with 200"


def test_rerun_keeps_the_prose_around_the_results(tmp_path: Path) -> None:
    """Writing results into an existing page replaces only the block between the markers."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import report
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    page = tmp_path / "b.md"
    page.write_text("# Title\n\nprose before\n\n<!-- results:start -->\nold\n<!-- results:end -->\n\nprose after\n")
    report.write(page, "<!-- results:start -->\nnew\n<!-- results:end -->\n")
    assert (
        page.read_text()
        == "# Title\n\nprose before\n\n<!-- results:start -->\nnew\n<!-- results:end -->\n\nprose after\n"
    )


def test_signed_bodies_are_distinct_1kb_and_verify(tmp_path: Path) -> None:
    """Pre-generated bodies are 1 KB, carry unique ids and verify with the endpoint's HMAC scheme."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import harness
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from hookinbox.verifiers.hmac import sign

    path = harness.write_bodies(tmp_path / "b.txt", "test", 50)
    lines = path.read_bytes().splitlines()
    ids = set()
    for line in lines:
        sig, body = line.split(b" ", 1)
        assert len(body) == harness.BODY_SIZE
        assert sig.decode() == sign(harness.SECRET, body)
        ids.add(__import__("json").loads(body)["id"])
    assert len(ids) == 50

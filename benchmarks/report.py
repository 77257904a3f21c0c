"""Turning measured cells into the markdown of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

import harness

START = "<!-- results:start -->"
END = "<!-- results:end -->"

COLUMNS = (
    "server",
    "host",
    "store",
    "handler",
    "conc",
    "bare req/s",
    "hookinbox req/s",
    "ratio",
    "bare p50 / p99 ms",
    "hookinbox p50 / p99 ms",
    "server CPU us/req bare / hookinbox",
    "CPU ratio",
    "hookinbox non-2xx",
    "RSS MB",
)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for mod in ("uvicorn", "gunicorn", "starlette", "fastapi", "flask"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except (ImportError, AttributeError):
            try:
                from importlib.metadata import version

                versions.append(f"{mod} {version(mod)}")
            except Exception:
                pass
    wrk = ""
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        wrk = (out.stdout or out.stderr).split(" [")[0].strip()
    return (
        f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}, Python {platform.python_version()}; "
        + ", ".join(versions)
        + (f"; {wrk}" if wrk else "")
    )


def _mean(runs: list[dict[str, float]], key: str) -> float:
    return statistics.fmean(r[key] for r in runs) if runs else 0.0


def summary(cell: Any) -> dict[str, float]:
    bare_rps, hook_rps = _mean(cell.bare, "rps"), _mean(cell.hook, "rps")
    hook_n = sum(r["requests"] for r in cell.hook)
    bad = sum(r["non2xx"] + r["read_errors"] + r["timeouts"] for r in cell.hook)
    spread = 0.0
    if len(cell.bare) >= 2 and bare_rps:
        spread = (max(r["rps"] for r in cell.bare) - min(r["rps"] for r in cell.bare)) / bare_rps
    return {
        "bare_rps": bare_rps,
        "hook_rps": hook_rps,
        "ratio": hook_rps / bare_rps if bare_rps else 0.0,
        "bare_p50": _mean(cell.bare, "p50_us") / 1000,
        "bare_p99": _mean(cell.bare, "p99_us") / 1000,
        "hook_p50": _mean(cell.hook, "p50_us") / 1000,
        "hook_p99": _mean(cell.hook, "p99_us") / 1000,
        "bare_cpu": _mean(cell.bare, "cpu_us"),
        "hook_cpu": _mean(cell.hook, "cpu_us"),
        "cpu_ratio": _mean(cell.bare, "cpu_us") / _mean(cell.hook, "cpu_us") if _mean(cell.hook, "cpu_us") else 0.0,
        "non2xx": bad / hook_n if hook_n else 0.0,
        "wraps": sum(r["wraps"] for r in cell.hook),
        "spread": spread,
    }


def cell_line(cell: Any) -> str:
    if cell.note:
        return cell.note
    s = summary(cell)
    return (
        f"bare {s['bare_rps']:.0f}/s p99 {s['bare_p99']:.1f} ms | hookinbox {s['hook_rps']:.0f}/s "
        f"p99 {s['hook_p99']:.1f} ms | ratio {s['ratio']:.0%}"
    )


def _row(cell: Any) -> str:
    server = harness.HOSTS[cell.host][0]
    handler = f"{cell.delay:g} s" + (f", queue_size {cell.queue}" if cell.queue else "")
    lead = [server, cell.host, cell.store, handler, str(cell.conc)]
    if cell.note:
        return "| " + " | ".join([*lead, cell.note] + [""] * (len(COLUMNS) - len(lead) - 1)) + " |"
    s = summary(cell)
    non2xx = f"{s['non2xx']:.1%}" + (f" ({int(s['wraps'])} id wraps)" if s["wraps"] else "")
    cols = [
        *lead,
        f"{s['bare_rps']:.0f}",
        f"{s['hook_rps']:.0f}",
        f"**{s['ratio']:.0%}**",
        f"{s['bare_p50']:.2f} / {s['bare_p99']:.2f}",
        f"{s['hook_p50']:.2f} / {s['hook_p99']:.2f}",
        f"{s['bare_cpu']:.0f} / {s['hook_cpu']:.0f}",
        f"{s['cpu_ratio']:.0%}",
        non2xx,
        f"{cell.rss_kb / 1024:.0f}",
    ]
    return "| " + " | ".join(cols) + " |"


def table(cells: list[Any]) -> list[str]:
    return ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS), *(_row(c) for c in cells)]


def _find(cells: list[Any], **kw: Any) -> list[Any]:
    return [c for c in cells if not c.note and all(getattr(c, k) == v for k, v in kw.items())]


def targets(cells: list[Any], floods: list[dict[str, Any]]) -> list[str]:
    out = ["| target | measured | met |", "|---|---|---|"]
    for store, want in (("memory", 0.85), ("redis", 0.70)):
        for host in ("raw", "starlette", "fastapi"):
            got = _find(cells, host=host, store=store, delay=0.0, queue=None)
            if got:
                ratios = ", ".join(
                    f"c={c.conc}: {summary(c)['ratio']:.0%} (CPU {summary(c)['cpu_ratio']:.0%})" for c in got
                )
                ok = all(summary(c)["ratio"] >= want for c in got)
                out.append(
                    f"| ASGI ({host}) + {store}, 0 ms handler: >= {want:.0%} of bare | {ratios} | "
                    f"{'yes' if ok else 'no'} |"
                )
    for c0 in _find(cells, delay=0.0, conc=64, queue=None):
        c2 = _find(cells, host=c0.host, store=c0.store, delay=2.0, conc=64, queue=None)
        if c2:
            a, b = summary(c0)["hook_p99"], summary(c2[0])["hook_p99"]
            ba, bb = summary(c0)["bare_p99"], summary(c2[0])["bare_p99"]
            out.append(
                f"| p99 ack at c=64 unchanged, 0 ms vs 2 s handler ({c0.host}, {c0.store}) | "
                f"{a:.2f} vs {b:.2f} ms (bare in the same runs: {ba:.2f} vs {bb:.2f} ms) | "
                f"{'yes' if b <= max(a * 1.25, a + 2.0) else 'no'} |"
            )
    for f in floods:
        rss = [kb for _, kb in f["samples"]]
        if rss:
            half = rss[len(rss) // 2 :]
            out.append(
                f"| memory bounded under a {f['seconds']} s flood of distinct events "
                f"({f['delay']:g} s handler, default settings) | RSS {rss[0] / 1024:.0f} MB at start, "
                f"{max(half) / 1024:.0f} MB max over the second half, {rss[-1] / 1024:.0f} MB at the end | "
                f"{'yes' if rss[-1] <= max(half) * 1.0 and max(half) < 4 * 1024 * 1024 else 'no'} |"
            )
    return out


def _gc_text(gc: dict[str, dict[str, float]]) -> str:
    if not gc:
        return ""
    full = gc.get("gen2")
    if not full:
        return " No full garbage collection."
    return (
        f" Full garbage collections: {full['count']:.0f}, {full['total_ms']:.0f} ms in all, "
        f"the longest {full['max_ms']:.0f} ms."
    )


def flood_lines(floods: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for f in floods:
        segs = f["segments"]
        total = sum(s["requests"] for s in segs)
        bad = sum(s["non2xx"] + s["read_errors"] for s in segs)
        wraps = sum(s["wraps"] for s in segs)
        out += [
            "",
            f"Flood, {f['delay']:g} s handler: {total} distinct events in {f['seconds']} s "
            f"({bad / total if total else 0:.1%} answered non-2xx"
            + (f", {wraps} id wraps" if wraps else "")
            + ")."
            + _gc_text(f.get("gc", {})),
            "",
            "| t (s) | " + " | ".join(f"{t:.0f}" for t, _ in f["samples"][::5]) + " |",
            "|---|" + "---|" * len(f["samples"][::5]),
            "| RSS MB | " + " | ".join(f"{kb / 1024:.0f}" for _, kb in f["samples"][::5]) + " |",
            "",
            "| segment | " + " | ".join(str(i + 1) for i in range(len(segs))) + " |",
            "|---|" + "---|" * len(segs),
            "| req/s | " + " | ".join(f"{s['rps']:.0f}" for s in segs) + " |",
            "| non-2xx | "
            + " | ".join(f"{s['non2xx'] / s['requests'] if s['requests'] else 0:.0%}" for s in segs)
            + " |",
        ]
    return out


def render(meta: dict[str, Any], cells: list[Any], floods: list[dict[str, Any]]) -> str:
    spreads = [summary(c)["spread"] for c in cells if not c.note and len(c.bare) >= 2]
    noise = (
        f"bare-route throughput moved by a median {statistics.median(spreads):.0%} (max {max(spreads):.0%}) "
        "between the two bare runs of a cell"
        if spreads
        else "one round per cell: no noise estimate (use --rounds 2)"
    )
    lines = [
        START,
        f"Measured {meta['date']} ({meta['elapsed_s']} s) with `{meta['command']}`.",
        "",
        f"- Machine: {meta['machine']}.",
        f"- Pinning: {meta['pinned']}; load: {meta['loadgen']}; {meta['duration']} s per run, "
        f"{meta['rounds']} bare/hookinbox pair(s) per cell in ABBA order.",
        f"- Noise: {noise}.",
        "",
        "#### Targets",
        "",
        *targets(cells, floods),
        "",
        "#### Servers and hosts (memory store)",
        "",
        *table([c for c in cells if c.store == "memory" and not c.queue]),
    ]
    backlog = [c for c in cells if c.queue]
    if backlog:
        lines += ["", "#### A 2 s handler with every event kept in memory (queue_size raised)", "", *table(backlog)]
    durable = [c for c in cells if c.store != "memory"]
    if durable:
        lines += ["", "#### Durable stores", "", *table(durable)]
    if floods:
        lines += ["", "#### Memory under a flood of distinct events", *flood_lines(floods)]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write(path: Path, results: str) -> None:
    """Replace the results block of ``path`` (keeping the prose around it), or create the file."""
    if path.exists():
        text = path.read_text()
        if START in text and END in text:
            before, rest = text.split(START, 1)
            after = rest.split(END, 1)[1]
            path.write_text(before + results.rstrip("\n") + after)
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# hookinbox benchmarks\n\n" + results)

"""``dualpath bench``: the benchmarks side by side in one run -- stack shapes against
their critical path, the cost per resource against stack size, worker processes 1 vs 2
(when a broker and a database server answer), and the corpus's wall time -- written as
JSON and as an HTML page with a plot of cost per resource against stack size for both
paths.

Each benchmark runs in a process of its own (``python -m benchmarks.<name>``), so that
one's memory and threads do not weigh on the next, and the peak memory of each stack
size is that size's alone.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jinja2

from engines.processes import broker_problem

PAGE = jinja2.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dualpath bench</title>
<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}pre{background:#f6f6f6;padding:1em}</style>
</head><body>
<h1>dualpath bench</h1>
<p>{{ when }} &middot; {{ host }}</p>
{% if plot %}<h2>Cost per resource against stack size</h2>
<img alt="ms per resource against stack size, both paths" src="data:image/png;base64,{{ plot }}">
{% endif %}
{% if scale %}<table><tr><th>resources</th>{% for op in ops %}<th>legacy {{ op }}</th>
<th>convergence {{ op }}</th>{% endfor %}<th>peak RSS MiB</th></tr>
{% for row in scale %}<tr><td>{{ row.resources }}</td>{% for op in ops %}
<td>{{ row.legacy[op] if row.legacy else "" }}</td>
<td>{{ row.convergence[op] if row.convergence else "" }}</td>{% endfor %}
<td>{{ row.peak_rss_mib }}</td></tr>{% endfor %}</table>
<p>Milliseconds per resource, wall clock; the plot also shows the process's CPU time
per resource (dashed), which a machine shared with other work disturbs less.</p>{% endif %}
{% for name, part in parts %}<h2>{{ name }}</h2><pre>{{ part }}</pre>{% endfor %}
</body></html>
""", autoescape=True)

OPERATIONS = ("create", "update", "delete")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bench", help="run the benchmarks; JSON and an HTML page with "
                            "the cost per resource against stack size")
    parser.add_argument("--out", type=Path, default=Path("out/bench"),
                        help="directory of bench.json and bench.html (default: %(default)s)")
    parser.add_argument("--sizes", default="100,500,1000",
                        help="stack sizes of the scale curve (default: %(default)s)")
    parser.add_argument("--skip", default="",
                        help="comma-separated parts not to run: shapes, scale, workers, corpus")
    parser.add_argument("--database-url", help="a PostgreSQL/MariaDB server for the "
                        "workers benchmark (a new database is made on it)")
    parser.add_argument("--transport-url", help="a broker for the workers benchmark")
    parser.add_argument("--workers-resources", type=int, default=400)
    parser.add_argument("--workers-secs", type=float, default=0.5)
    parser.set_defaults(handler=run)


def _benchmark(name: str, *args: str) -> dict[str, Any]:
    """Run ``benchmarks.<name>`` in a process of its own; its JSON result."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "result.json"
        done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args,
                               "--json", str(out)], capture_output=True, text=True)
        if not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
            return {"error": f"benchmarks.{name} exited {done.returncode}: "
                             + " | ".join(tail)}
        return json.loads(out.read_text())


def _scale(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:  # one process per size: its peak memory is that size's own
        result = _benchmark("bench_scale", "--sizes", str(size))
        rows.append(result["sizes"][0] if "sizes" in result else {"resources": size, **result})
        print(f"scale {size}: {json.dumps(rows[-1])}", flush=True)
    return rows


def _workers_skipped(args: argparse.Namespace) -> str | None:
    if not (args.database_url and args.transport_url):
        return "needs --database-url (a server) and --transport-url (a broker)"
    if args.database_url.startswith("sqlite"):
        return "needs a database server: worker processes share it"
    return broker_problem(args.transport_url)


def plot(scale: list[dict[str, Any]]) -> str | None:
    """The PNG (base64) of ms per resource against stack size, both paths, per operation."""
    rows = [r for r in scale if "legacy" in r or "convergence" in r]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(1, len(OPERATIONS), figsize=(12, 3.6), sharey=True)
    for ax, op in zip(axes, OPERATIONS, strict=True):
        for path, color in (("legacy", "tab:blue"), ("convergence", "tab:orange")):
            for kind, style, label in (("", "o-", path), ("_cpu", "s--", f"{path} (CPU)")):
                points = [(r["resources"], r[path + kind][op]) for r in rows
                          if path + kind in r]
                if points:
                    ax.plot(*zip(*points, strict=True), style, color=color, label=label)
        ax.set_xscale("log")
        ax.set_title(op)
        ax.set_xlabel("resources in the stack")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("ms per resource")
    axes[0].legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def render(result: dict[str, Any]) -> str:
    parts = [(name, json.dumps(result[name], indent=2))
             for name in ("shapes", "workers", "corpus") if name in result]
    return PAGE.render(when=result["when"], host=result["host"], ops=OPERATIONS,
                       scale=result.get("scale") or [], plot=plot(result.get("scale") or []),
                       parts=parts)


def run(args: argparse.Namespace) -> int:
    import platform

    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - {"shapes", "scale", "workers", "corpus"}
    if unknown:
        print(f"dualpath bench: unknown part(s) to skip: {', '.join(sorted(unknown))}",
              file=sys.stderr)
        return 2
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        print(f"dualpath bench: --sizes wants numbers, not {args.sizes!r}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {"when": dt.datetime.now().isoformat(timespec="seconds"),
                              "host": f"{platform.node()} ({platform.machine()}, "
                                      f"Python {platform.python_version()})"}
    if "shapes" not in skip:
        result["shapes"] = _benchmark("bench_paths")
        print("shapes: done", flush=True)
    if "scale" not in skip:
        result["scale"] = _scale(sizes)
    if "workers" not in skip:
        why = _workers_skipped(args)
        result["workers"] = {"skipped": why} if why else _benchmark(
            "bench_workers", "--database-url", args.database_url, "--transport-url",
            args.transport_url, "--resources", str(args.workers_resources),
            "--secs", str(args.workers_secs))
        print(f"workers: {json.dumps(result['workers'])}", flush=True)
    if "corpus" not in skip:
        result["corpus"] = _benchmark("bench_corpus")
        print("corpus: done", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result, indent=2))
    (args.out / "bench.html").write_text(render(result), encoding="utf-8")
    print(f"wrote {args.out / 'bench.json'} and {args.out / 'bench.html'}")
    return 0

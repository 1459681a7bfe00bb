"""``dualpath bench``: its page embeds the plot of cost per resource against stack size for
both paths; parts that need servers say why they were skipped."""

from __future__ import annotations

import argparse
import base64
import re

from harness.cli import bench
from harness.cli.main import build_parser

SCALE = [{"resources": n,
          "legacy": {"create": 3.0, "update": 2.5, "delete": 2.4},
          "legacy_cpu": {"create": 2.0, "update": 1.5, "delete": 1.4},
          "convergence": {"create": 4.0 + n / 1000, "update": 5.0, "delete": 3.5},
          "convergence_cpu": {"create": 3.0, "update": 4.0, "delete": 3.0},
          "peak_rss_mib": 90.0 + n / 100} for n in (100, 1000)]


def test_the_page_embeds_a_png_plot_and_the_numbers():
    html = bench.render({"when": "now", "host": "here", "scale": SCALE,
                         "shapes": {"fan-out": {"critical_path_s": 0.2}}})
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', html)[1])
    assert png.startswith(b"\x89PNG")
    assert "<td>1000</td>" in html and "fan-out" in html


def test_no_scale_curve_no_plot():
    assert bench.plot([]) is None
    assert "<img" not in bench.render({"when": "now", "host": "here"})


def test_the_workers_part_says_why_it_is_skipped_without_servers():
    args = argparse.Namespace(database_url=None, transport_url=None)
    assert "needs --database-url" in bench._workers_skipped(args)
    args = argparse.Namespace(database_url="sqlite:///x", transport_url="rabbit://h/")
    assert "database server" in bench._workers_skipped(args)


def test_bench_is_a_dualpath_command():
    args = build_parser().parse_args(["bench", "--skip", "corpus", "--sizes", "10,20"])
    assert args.handler is bench.run and args.sizes == "10,20"

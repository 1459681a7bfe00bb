"""What a run file says about where its evidence comes from: the commit of the code that
ran (so that the gate can weigh only evidence about one version) and the configuration it
ran with (database, transport, workers, repeats, scenario set), passwords masked. The
fuzzer records the same (``dualpath fuzz``), with its seed and budget."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from engines.service import safe_url

_SOURCE = Path(__file__).resolve().parents[2]  # the checkout this code was loaded from


def package_version() -> str:
    try:
        from importlib.metadata import version
        return version("dualpath")
    except Exception:  # noqa: BLE001 - an uninstalled tree still reports something
        return "0+unknown"


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(_SOURCE), *args], capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def commit_info() -> dict[str, Any]:
    """``{"id": sha | "unknown", "version": package version, "dirty": bool | None}``.
    ``dirty``: tracked files differ from the commit, so the id names the code only
    approximately; None where git is not available."""
    sha = _git("rev-parse", "HEAD")
    if not sha:
        return {"id": "unknown", "version": package_version(), "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"id": sha, "version": package_version(),
            "dirty": None if status is None else bool(status)}


def scenario_set(scenarios: list[Any], root: Path, pattern: str | None,
                 shipped_root: Path) -> dict[str, Any]:
    """Which scenarios ran: ``name`` is ``corpus`` for the whole shipped corpus (no
    filter), ``custom`` otherwise; the digest covers every scenario's id and file, so two
    runs of "the corpus" can be checked to be of the same one."""
    digest = hashlib.sha256()
    for scenario in sorted(scenarios, key=lambda s: s.id):
        digest.update(scenario.id.encode())
        try:
            digest.update(Path(scenario.path).read_bytes())
        except OSError:
            digest.update(json.dumps([s.op for s in scenario.steps]).encode())
    whole = pattern in (None, "", "*") and Path(root).resolve() == shipped_root.resolve()
    return {"name": "corpus" if whole else "custom", "root": str(root), "filter": pattern,
            "count": len(scenarios), "digest": digest.hexdigest()}


def masked_url(url: str | None) -> str | None:
    return safe_url(url) if url else None


def describe(*, backend: str, database_url: str | None, transport_url: str | None,
             workers: int, repeat: int, jobs: int, engines: list[str],
             scenarios: dict[str, Any] | None, fuzz: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """The configuration block of a run file (``run.config``)."""
    transport = "rabbit" if (transport_url or "").startswith("rabbit") else "in-process"
    return {
        "database": {"kind": backend, "url": masked_url(database_url)},
        "transport": {"kind": transport, "url": masked_url(transport_url)},
        "workers": workers, "repeat": repeat, "jobs": jobs, "engines": list(engines),
        "scenarios": scenarios, "fuzz": fuzz,
    }

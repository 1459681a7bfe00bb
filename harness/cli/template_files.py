"""The files a template names, read from disk as Heat's client does: every template
resource type (``type: db.yaml``), every literal ``get_file``, and every environment
mapping onto a template file, relative to the file that names it, recursively."""

from __future__ import annotations

import os
from typing import Any

import yaml

SUFFIXES = (".yaml", ".yml", ".template")


def _names(doc: Any, key_is_type: bool = False) -> list[str]:
    found: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "get_file" and isinstance(value, str):
                found.append(value)
            elif key == "type" and isinstance(value, str) and value.endswith(SUFFIXES):
                found.append(value)
            else:
                found += _names(value)
    elif isinstance(doc, list):
        for item in doc:
            found += _names(item)
    return found


def _registry_names(env: Any) -> list[str]:
    registry = (env or {}).get("resource_registry") if isinstance(env, dict) else None
    names: list[str] = []
    for key, value in (registry or {}).items():
        if key == "resources" and isinstance(value, dict):
            for settings in value.values():
                if isinstance(settings, dict):
                    names += [v for v in settings.values()
                              if isinstance(v, str) and v.endswith(SUFFIXES)]
        elif isinstance(value, str) and value.endswith(SUFFIXES):
            names.append(value)
    return names


def collect(template_path: str | None, environment_path: str | None = None) -> dict[str, str]:
    """``{name as written: content}`` for every file the template (and environment) name;
    without a template (a PATCH keeping the stored one), the environment's."""
    files: dict[str, str] = {}
    pending: list[tuple[str, str]] = []
    if template_path is not None:
        with open(template_path, encoding="utf-8") as handle:
            try:
                doc = yaml.safe_load(handle)
            except yaml.YAMLError:
                doc = None  # the engine reads it again, and names the file and the line
        base = os.path.dirname(os.path.abspath(template_path))
        pending += [(name, base) for name in _names(doc)]
    if environment_path:
        with open(environment_path, encoding="utf-8") as handle:
            try:
                env = yaml.safe_load(handle)
            except yaml.YAMLError:
                env = None  # likewise: the engine names the problem
        env_base = os.path.dirname(os.path.abspath(environment_path))
        pending += [(name, env_base) for name in _registry_names(env)]
    while pending:
        name, where = pending.pop()
        if name in files:
            continue
        path = name if os.path.isabs(name) else os.path.join(where, name)
        if not os.path.isfile(path):
            continue  # the engine names what is missing, with the field that wants it
        with open(path, encoding="utf-8") as handle:
            files[name] = handle.read()
        if name.endswith(SUFFIXES):
            try:
                pending += [(n, os.path.dirname(path)) for n in _names(yaml.safe_load(
                    files[name]))]
            except yaml.YAMLError:
                pass
    return files

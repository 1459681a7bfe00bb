"""Templates the engine tests share (as Python strings, so a test reads as a story)."""

from __future__ import annotations

import yaml


def hot(resources: dict, outputs: dict | None = None, parameters: dict | None = None) -> str:
    doc: dict = {"heat_template_version": "2015-04-30", "resources": resources}
    if outputs:
        doc["outputs"] = outputs
    if parameters:
        doc["parameters"] = parameters
    return yaml.safe_dump(doc, sort_keys=False)


def res(value: str = "v", **props: object) -> dict:
    return {"type": "OS::Heat::TestResource", "properties": {"value": value, **props}}


def hooks_env(**hooks: str | list[str]) -> dict:
    """Environment pausing resource NAME at hook(s): hooks_env(A="pre-create")."""
    return {"resource_registry": {"resources": {
        name: {"hooks": hook} for name, hook in hooks.items()}}}


# A <- C (C needs A's output, and B first): the DESIGN.md example
ABC_V1 = hot({
    "A": res("initial"),
    "B": res("b"),
    "C": {"type": "OS::Heat::TestResource",
          "properties": {"value": "c", "update_replace_value": {"get_attr": ["A", "output"]}},
          "depends_on": ["B"]},
}, outputs={"c": {"value": {"get_attr": ["C", "output"]}},
            "a": {"value": {"get_attr": ["A", "output"]}}})
ABC_V2 = ABC_V1.replace("value: initial", "value: changed")

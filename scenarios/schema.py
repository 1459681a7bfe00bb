"""The JSON schema of a scenario, assembled from the document's own parts (below) and each
step's fragment (scenarios/steps/). ``schema.json`` beside this file is the same schema,
written out for editors and readers; a test keeps it in sync: regenerate it with
``python -m scenarios.schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.steps import STEPS

SCHEMA_PATH = Path(__file__).with_name("schema.json")

DOCUMENT: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://dualpath.invalid/scenarios/schema.json",
    "title": "dualpath scenario, format v1",
    "description": "One scenario: named templates and environments, then steps run in order "
                   "on each engine path. See scenarios/README.md. Keys named x-error are "
                   "messages the loader shows when a subschema fails; validators ignore them. "
                   "Generated from scenarios/schema.py and scenarios/steps/: edit those.",
    "type": "object",
    "required": ["description", "steps"],
    "additionalProperties": False,
    "x-error": "a scenario must be a mapping",
    "properties": {
        "description": {"type": "string", "minLength": 1,
                        "x-error": "a non-empty sentence saying what the scenario shows"},
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1},
                 "uniqueItems": True},
        "engines": {
            "type": "array", "items": {"$ref": "#/$defs/engine"}, "minItems": 1,
            "uniqueItems": True, "default": ["legacy", "convergence"],
            "x-error": "a list of engine paths (legacy, convergence), each at most once",
        },
        "templates": {"type": "object", "propertyNames": {"$ref": "#/$defs/name"},
                      "additionalProperties": {"$ref": "#/$defs/document"}},
        "environments": {"type": "object", "propertyNames": {"$ref": "#/$defs/name"},
                         "additionalProperties": {"$ref": "#/$defs/document"}},
        "files": {
            "description": "What templates read (nested templates, get_file), by the name "
                           "they use: inline text, an inline mapping (written out as YAML), "
                           "or {file: path} relative to the scenario file.",
            "type": "object", "propertyNames": {"$ref": "#/$defs/fileName"},
            "additionalProperties": {
                "anyOf": [{"type": "string"}, {"$ref": "#/$defs/document"}],
                "x-error": "a file's text, an inline mapping, or {file: relative/path}"},
        },
        "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"},
                  "x-error": "a non-empty list of steps"},
    },
}

# the words steps share
DEFS: dict[str, Any] = {
    "engine": {"enum": ["legacy", "convergence"],
               "x-error": "an engine path is legacy or convergence"},
    "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_.-]*$",
             "x-error": "a name is a letter or _ followed by letters, digits, _ . -"},
    "resourceName": {"type": "string", "minLength": 1,
                     "x-error": "a resource name (a key of a template's resources), or a "
                                "path into nested stacks: db/R (R of db's stack), "
                                "group/0/A"},
    "status": {
        "type": "string",
        "pattern": "^(INIT|CREATE|UPDATE|DELETE|ROLLBACK)_(IN_PROGRESS|COMPLETE|FAILED)$",
        "x-error": "a status is ACTION_STATUS, e.g. CREATE_COMPLETE (actions INIT, CREATE, "
                   "UPDATE, DELETE, ROLLBACK; statuses IN_PROGRESS, COMPLETE, FAILED)",
    },
    "hook": {"enum": ["pre-create", "pre-update", "pre-delete",
                      "post-create", "post-update", "post-delete"],
             "x-error": "a hook is pre- or post- create, update or delete"},
    "errorClass": {
        "description": "The class names of engines/core/errors.py that reach a caller.",
        "enum": ["DualpathError", "ValidationError", "TemplateSizeError", "TooManyResources",
                 "DependencyCycle", "UnknownResourceType", "PropertyError", "ParameterError",
                 "InvalidReference", "NotFound", "ActionInProgress", "InvalidOperation",
                 "PathNotAvailable", "WaitTimeout", "ResourceFailure", "StackExists",
                 "ImmutableParameterModified", "ResourceActionRestricted",
                 "EngineOverloaded"],
        "x-error": "an error class of engines/core/errors.py (e.g. ValidationError, "
                   "ParameterError, ActionInProgress)",
    },
    "fileName": {"type": "string", "pattern": "^[^/\\s][^\\s]*$",
                 "x-error": "a file name as a template uses it (db.yaml, nested/db.yaml), "
                            "no spaces, not starting with /"},
    "seconds": {"type": "number", "exclusiveMinimum": 0,
                "x-error": "a number of seconds, more than 0"},
    "fileRef": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "minLength": 1}},
        "additionalProperties": False,
        "x-error": "a file reference is {file: relative/path.yaml} and nothing else",
    },
    "document": {
        "description": "An inline mapping (a HOT template or an environment), or {file: path} "
                       "relative to the scenario file, inside the scenario root.",
        "type": "object",
        "if": {"required": ["file"]},
        "then": {"$ref": "#/$defs/fileRef"},
        "x-error": "an inline mapping or {file: relative/path.yaml}",
    },
    "environmentUse": {
        "anyOf": [{"$ref": "#/$defs/name"}, {"$ref": "#/$defs/document"}],
        "x-error": "the name of an environment, or an inline environment mapping",
    },
    "errorExpectation": {
        "description": "The error an operation returns: a class name, or per engine path a "
                       "class name or null (no error) where the paths differ by design.",
        "anyOf": [
            {"$ref": "#/$defs/errorClass"},
            {"type": "null"},
            {"type": "object", "minProperties": 1, "additionalProperties": False,
             "properties": {
                 "legacy": {"anyOf": [{"$ref": "#/$defs/errorClass"}, {"type": "null"}]},
                 "convergence": {"anyOf": [{"$ref": "#/$defs/errorClass"},
                                           {"type": "null"}]}}},
        ],
        "x-error": "an error class of engines/core/errors.py (e.g. ValidationError, "
                   "ActionInProgress), null for no error, or per path {legacy: CLASS-or-null, "
                   "convergence: CLASS-or-null}",
    },
}


def assemble() -> dict[str, Any]:
    """The whole schema: the document, the shared words, and a step being exactly one of
    the registered steps."""
    defs = dict(DEFS)
    for kind in STEPS.values():
        for name, fragment in kind.defs.items():
            if defs.setdefault(name, fragment) != fragment:
                raise ValueError(f"step {kind.name} redefines $defs/{name}")
    defs["step"] = {
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "additionalProperties": False,
        "x-error": "a step is a mapping with exactly one operation",
        "properties": {name: kind.schema for name, kind in STEPS.items()},
    }
    return {**DOCUMENT, "$defs": defs}


def render() -> str:
    return json.dumps(assemble(), indent=2) + "\n"


if __name__ == "__main__":
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")

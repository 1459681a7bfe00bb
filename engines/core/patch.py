"""What an update is given, PUT or PATCH (Heat's ``existing``).

A PUT (the default) is the request as it came: what it does not say is reset (parameters
not given take their defaults). A PATCH starts from what the stack has stored and changes
only what the request says, as Heat's ``update_stack(..., existing=True)`` does:

* the template: the stored one when none is given (both paths store the template an
  update was asked for when it starts, so this is the template the stack was last asked
  to be; Heat's legacy engine falls back to the previous template of a FAILED stack,
  which its store keeps in another way -- not done here);
* the environment: the new one merged over the stored one (``parameters``,
  ``parameter_defaults`` key by key, the ``resource_registry`` entry by entry);
* the parameters: the stored values, minus those named in ``clear_parameters`` (reset
  to their defaults; a ``parameter_defaults`` entry still applies, it is a default),
  minus those the new template no longer declares, updated with those given -- a value
  the new environment's ``parameters`` sets replaces a stored one too, as in Heat, where
  both are one set;
* the files: the stored map updated with the given one;
* the stack timeout: the stored one when none is given.

A value *given* for a parameter the template does not declare stays an error (Heat
silently drops it on a PATCH; a typo should not pass unnoticed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engines.core import stack_store
from engines.core.environment import parse_environment
from engines.core.errors import ValidationError
from engines.core.models import Stack
from engines.core.runtime import Runtime
from engines.core.yaml_loader import load_document


@dataclass(frozen=True)
class UpdateInputs:
    """What the update is validated and stored with."""

    template: Any
    environment: Any
    parameters: dict[str, Any] | None
    files: dict[str, str] | None
    timeout: int | None


def check_timeout(timeout: Any) -> None:
    """A stack timeout is a whole number of seconds, more than 0 (None: the default)."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0 \
            or timeout != int(timeout):
        raise ValidationError("timeout", "must be a whole number of seconds, more than 0, "
                              f"got {timeout!r}")


def update_inputs(rt: Runtime, stack: Stack, template: Any, environment: Any,
                  parameters: dict[str, Any] | None, files: dict[str, str] | None,
                  timeout: int | None, *, existing: bool = False,
                  clear_parameters: Iterable[str] | None = None) -> UpdateInputs:
    """The update's inputs: as given (a PUT), or patched onto the stored ones."""
    if not existing:
        # as in Heat, clear_parameters means nothing to a PUT: every parameter not given
        # is reset already
        return UpdateInputs(template, environment, parameters, files, timeout)
    clear = set(clear_parameters or ())
    stored_template, stored_env = stack_store.load_template(rt.db, stack.raw_template_id)
    new_template = stored_template if template is None else template
    if parameters is not None and not isinstance(parameters, dict):
        # nothing to merge: the parse refuses them, naming the field
        return UpdateInputs(new_template, environment, parameters, files, timeout)
    declared = _declared(new_template, rt.conf.max_template_size)
    given_env = _given_environment(environment, rt.conf.max_template_size)

    def kept(values: dict[str, Any] | None, also_drop: Iterable[str] = ()) -> dict[str, Any]:
        dropped = clear | set(also_drop)
        return {k: v for k, v in (values or {}).items()
                if k not in dropped and (declared is None or k in declared)}

    base_env = dict(stored_env)
    base_env["parameters"] = kept(stored_env.get("parameters"))
    envs = [base_env, *(environment if isinstance(environment, list) else
                        [] if environment is None else [environment])]
    merged = {**kept(stack.parameters, given_env), **(parameters or {})}
    new_files = {**stack_store.load_files(rt.db, stack.raw_template_id), **(files or {})}
    return UpdateInputs(new_template, envs, merged, new_files,
                        timeout if timeout is not None else stack.timeout)


def _declared(template: Any, max_size: int) -> set[str] | None:
    """The parameters the new template declares; None when it cannot be read (the parse
    that follows names the problem)."""
    try:
        section = load_document(template, what="template", max_size=max_size).get("parameters")
    except ValidationError:
        return None
    return set(section) if isinstance(section, dict) else set()


def _given_environment(environment: Any, max_size: int) -> set[str]:
    """The parameters the request's environment sets (empty when it cannot be read)."""
    try:
        return set(parse_environment(environment, max_size=max_size).parameters)
    except ValidationError:
        return set()

"""Errors the engine raises to its callers.

Every error has a stable class name: the harness compares error *classes* across paths,
so the class (not the message) is the contract.
"""

from __future__ import annotations


class DualpathError(Exception):
    """Base of every error the engine reports to a caller."""

    http_status = 500


class ValidationError(DualpathError):
    """Bad input: a template, environment or parameter that cannot be accepted.

    ``path`` is where the problem is (``resources.C.properties.value``), ``reason`` why.
    Raised before anything is stored.
    """

    http_status = 400

    def __init__(self, path: str, reason: str, source: str | None = None) -> None:
        self.path = path
        self.reason = reason
        self.source = source
        where = f"{source}: " if source else ""
        loc = f"{path}: " if path else ""
        super().__init__(f"{where}{loc}{reason}")


class TemplateSizeError(ValidationError):
    """The template is larger than ``max_template_size``."""


class TooManyResources(ValidationError):
    """The template has more resources than ``max_resources_per_stack``."""


class DependencyCycle(ValidationError):
    """Resources depend on each other in a loop."""


class UnknownResourceType(ValidationError):
    """A resource type (or registry alias target) that no plugin provides."""


class PropertyError(ValidationError):
    """A resource property that is unknown, missing or of the wrong type."""


class ParameterError(ValidationError):
    """A parameter that is missing, of the wrong type, or violates a constraint."""


class ImmutableParameterModified(ParameterError):
    """An update gives a new value to a parameter its template declares ``immutable``."""


class ResourceActionRestricted(DualpathError):
    """The environment restricts the action (update, replace) an update needs."""

    http_status = 400


class InvalidReference(ValidationError):
    """get_resource / get_attr / depends_on naming something that does not exist."""


class NotFound(DualpathError):
    """The stack (or resource) does not exist, or belongs to another project."""

    http_status = 404


class ActionInProgress(DualpathError):
    """The stack is busy and this path cannot accept another operation now (HTTP 409)."""

    http_status = 409


class InvalidOperation(DualpathError):
    """The operation makes no sense in the stack's current state (e.g. rollback of nothing)."""

    http_status = 400


class PathNotAvailable(DualpathError):
    """The stack's engine path is not part of this build."""

    http_status = 501


class WaitTimeout(DualpathError):
    """A wait helper ran out of time before the condition held."""


class ResourceFailure(DualpathError):
    """A resource action failed (the plugin or the simulated cloud raised)."""

    def __init__(self, resource: str, action: str, reason: str) -> None:
        self.resource = resource
        self.action = action
        self.reason = reason
        super().__init__(f"{action} of {resource} failed: {reason}")


class UpdateReplace(Exception):  # noqa: N818 - a signal between plugin and engine, not an error
    """Raised by a plugin when a property change can only be made by replacement."""


class Cancelled(Exception):  # noqa: N818 - control flow, never reaches a caller
    """The operation this action belongs to was stopped (delete, rollback, newer traversal)."""


class StackExists(DualpathError):
    """A live stack of that name already exists in the project."""

    http_status = 409


class EngineOverloaded(DualpathError):
    """The engine has no capacity for this call now (every database connection it may
    use for API calls is taken, or too many operations are being accepted at once).
    Nothing was stored: the same call can simply be made again (HTTP 503)."""

    http_status = 503
    retryable = True

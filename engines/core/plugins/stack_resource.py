"""Resources that are stacks: template resources (``type: db.yaml``) and
``OS::Heat::Stack`` (a template given inline). Each owns a nested stack, a stack of its
own with its parent and root recorded, which it creates, updates in place (never
replaced), and deletes through the engine's narrow interface on its scope
(``scope.nested``, see ``engines.core.nested``): the plugin knows no engine path."""

from __future__ import annotations

from typing import Any, ClassVar

from engines.core.errors import ResourceFailure
from engines.core.nested import NestedStacks
from engines.core.properties import ANY, MAP, NUMBER, Property
from engines.core.resource import Resource
from engines.core.status import COMPLETE, CREATE, DELETE, FAILED, UPDATE

# a template resource's properties carry the digest of its nested template, so that a
# changed nested template is an update of the resource even with the same properties
DIGEST = "__nested_template_digest"
NESTED_POLL = 0.2  # seconds: the longest wait between two looks at a nested stack
NESTED_RESOURCE = "resource."  # resource.<name>[.<attr>]: a resource of the nested stack


class TemplateResource(Resource):
    accepts_any_property = True
    updates_failed_in_place = True
    attributes_schema: ClassVar[dict[str, str]] = {}
    nested_file: ClassVar[str | None] = None

    # -- what the nested stack is made of ----------------------------------------------
    def _engine(self, action: str) -> NestedStacks:
        nested = getattr(self.scope, "nested", None)
        if nested is None:
            raise ResourceFailure(self.name, action, "nested stacks are not available here")
        return nested

    def nested_definition(self, nested: NestedStacks, properties: dict[str, Any]
                          ) -> tuple[Any, dict[str, Any]]:
        """(template, parameters) of the nested stack."""
        files = nested.files_of(self.scope.stack_id)
        params = {k: v for k, v in properties.items() if k != DIGEST and v is not None}
        return files[self.type_name], params

    # -- the plugin contract -----------------------------------------------------------
    def handle_create(self) -> str:
        nested = self._engine(CREATE)
        template, params = self.nested_definition(nested, self.properties)
        child_id = nested.create(self.scope.stack_id, self.name, template, params)
        self.physical_id = child_id
        return child_id

    def check_create_complete(self) -> bool:
        return self._done(CREATE)

    def poll_delay(self, attempt: int) -> float:
        # each look at the nested stack costs a few queries, and a nested stack takes a
        # while: looks grow apart (as Heat's stack resources back off), up to NESTED_POLL
        return min(self.scope.poll_interval * 1.5 ** attempt,
                   max(self.scope.poll_interval, NESTED_POLL))

    def needs_replace(self, old: dict[str, Any], new: dict[str, Any]) -> bool:
        return False  # a nested stack is always updated in place, as in Heat

    def handle_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        nested = self._engine(UPDATE)
        template, params = self.nested_definition(nested, new)
        nested.update(self.physical_id, template, params)
        attempt = 0
        while not self._done(UPDATE):
            self.scope.wait(self.poll_delay(attempt))
            attempt += 1

    def handle_cancel(self) -> None:
        # as Heat's stack resources: the nested create or update stops too, without a
        # rollback of its own (the parent decides what happens next)
        if self.physical_id:
            self._engine(UPDATE).cancel(self.physical_id)

    def handle_delete(self) -> None:
        if not self.physical_id:
            return
        nested = self._engine(DELETE)
        nested.delete(self.physical_id)
        attempt = 0
        while not self._done(DELETE):
            self.scope.wait(self.poll_delay(attempt))
            attempt += 1

    def _done(self, action: str) -> bool:
        state = self._engine(action).state(self.physical_id)
        if state is None:  # gone: deleted already
            return action == DELETE
        child_action, status, reason = state
        if status == FAILED:
            raise ResourceFailure(self.name, action,
                                  f"nested stack {self.physical_id}: {child_action}_FAILED: "
                                  f"{reason}")
        return child_action == action and status == COMPLETE

    @classmethod
    def has_attribute(cls, attr: str) -> bool:
        # Heat's template resources answer resource.<name>[.<attr>] from the nested stack
        return attr in cls.attributes_schema or (attr.startswith(NESTED_RESOURCE)
                                                 and len(attr) > len(NESTED_RESOURCE))

    def get_attribute(self, name: str) -> Any:
        if name == "OS::stack_id":
            return self.physical_id
        if name.startswith(NESTED_RESOURCE) and name not in self.attributes_schema:
            return self._nested_resource_attribute(name)
        outputs = self._engine(CREATE).outputs(self.physical_id)
        if name not in outputs and name not in self.attributes_schema:
            raise KeyError(name)
        return outputs.get(name)

    def _nested_resource_attribute(self, name: str) -> Any:
        resource, _, attr = name[len(NESTED_RESOURCE):].partition(".")
        physical_id, attributes = self._engine(CREATE).resources(self.physical_id).get(
            resource, (None, {}))
        return attributes.get(attr) if attr else physical_id

    def all_attributes(self) -> dict[str, Any]:
        # with resource.<name>[.<attr>] of every nested resource: a path that sends
        # attributes on (convergence) has no other way to know which are read
        found = {name: self.get_attribute(name) for name in self.attributes_schema}
        if self.physical_id:
            for resource, (physical_id, attributes) in self._engine(CREATE).resources(
                    self.physical_id).items():
                found[f"{NESTED_RESOURCE}{resource}"] = physical_id
                for attr, value in attributes.items():
                    found[f"{NESTED_RESOURCE}{resource}.{attr}"] = value
        return found


class StackResource(TemplateResource):
    """OS::Heat::Stack: the nested template is the ``template`` property."""

    accepts_any_property = False
    properties_schema = {
        "template": Property(ANY, required=True, description="The nested template."),
        "parameters": Property(MAP, default=None, description="Its parameter values."),
        "timeout": Property(NUMBER, default=None, description="Minutes."),
    }
    attributes_schema = {"outputs": "The nested stack's outputs.",
                         "stack_name": "The nested stack's name."}

    def nested_definition(self, nested: NestedStacks, properties: dict[str, Any]
                          ) -> tuple[Any, dict[str, Any]]:
        return properties["template"], dict(properties.get("parameters") or {})

    @classmethod
    def has_attribute(cls, attr: str) -> bool:
        return attr in cls.attributes_schema

    def all_attributes(self) -> dict[str, Any]:
        return {name: self.get_attribute(name) for name in self.attributes_schema}

    def get_attribute(self, name: str) -> Any:
        nested = self._engine(CREATE)
        if name == "outputs":
            return nested.outputs(self.physical_id)
        if name == "stack_name":
            return nested.name(self.physical_id)
        raise KeyError(name)

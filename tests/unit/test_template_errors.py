"""Bad templates, environments and parameters: each is refused with the most specific error
class, the exact place (``.path``) and a reason that says why."""

from __future__ import annotations

from typing import Any

import pytest

from engines.core.errors import (
    DependencyCycle,
    InvalidReference,
    ParameterError,
    PropertyError,
    TemplateSizeError,
    TooManyResources,
    UnknownResourceType,
    ValidationError,
)
from engines.core.template import parse

V = "2015-04-30"
TEST = "OS::Heat::TestResource"


def tmpl(resources: dict | None = None, **sections: Any) -> dict:
    doc: dict[str, Any] = {"heat_template_version": V}
    doc.update(sections)
    if resources is not None:
        doc["resources"] = resources
    return doc


def res(props: dict | None = None, type_: str = TEST, **keys: Any) -> dict:
    spec: dict[str, Any] = {"type": type_}
    if props is not None:
        spec["properties"] = props
    spec.update(keys)
    return spec


def with_param(spec: dict, value_snippet: Any = None) -> dict:
    """A template declaring parameter ``p`` as ``spec``, used by resource A."""
    return tmpl({"A": res({"value": value_snippet or {"get_param": "p"}})},
                parameters={"p": spec})


def alias_bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return f"heat_template_version: {V}\ndescription: bomb\nparameters:\n" + "".join(
        f"  {line}\n" for line in lines
    )


def dict_bomb() -> dict:
    """What yaml.safe_load makes of an alias bomb: small in memory, huge once walked."""
    level: Any = ["lol"] * 9
    for _ in range(9):
        level = [level] * 9
    return {"heat_template_version": V, "description": level}


def case(id_: str, cls: type[ValidationError], path: str, phrase: str, **kwargs: Any) -> Any:
    return pytest.param(kwargs, cls, path, phrase, id=id_)


CASES = [
    # -- the document ----------------------------------------------------------------------
    case("yaml-syntax-error", ValidationError, "template",
         "YAML syntax error at line 3, column 10: mapping values are not allowed here",
         template=f"heat_template_version: {V}\nresources:\n  A: type: {TEST}\n"),
    case("yaml-unclosed-bracket", ValidationError, "template",
         "while parsing a flow sequence at line 4, column 11",
         template=f"heat_template_version: {V}\nresources:\n  A:\n    type: [unclosed\n"),
    case("not-a-mapping", ValidationError, "template", "must be a mapping, got a list",
         template="- heat_template_version\n- resources\n"),
    case("empty-document", ValidationError, "template", "is empty", template=""),
    case("only-comments", ValidationError, "template", "is empty", template="# nothing\n"),
    case("unsafe-yaml-tag", ValidationError, "template", "could not determine a constructor",
         template=f"heat_template_version: {V}\nx: !!python/object/apply:os.system [ls]\n"),
    case("duplicate-resource-name", ValidationError, "template",
         "duplicate key 'A' at line 5",
         template=f"heat_template_version: {V}\nresources:\n  A:\n    type: {TEST}\n"
                  f"  A:\n    type: {TEST}\n"),
    case("over-max-size-checked-before-parsing", TemplateSizeError, "template",
         "more than the limit of 100 bytes",
         template="{{{{ this is not YAML at all: [" + "x" * 200, max_template_size=100),
    case("dict-over-max-size", TemplateSizeError, "template", "more than the limit of 50",
         template=tmpl({"A": res({"value": "y" * 100})}), max_template_size=50),
    case("dict-sharing-sub-structures", TemplateSizeError, "template",
         "more than the limit of 524288 bytes", template=dict_bomb()),
    case("environment-over-max-size", TemplateSizeError, "environment",
         "more than the limit of 200 bytes",
         template=tmpl(), environment="parameters: [" + "z" * 300, max_template_size=200),
    case("yaml-alias-bomb", ValidationError, "template", "YAML aliases expand to more than",
         template=alias_bomb()),
    case("recursive-yaml-alias", ValidationError, "template", "recursive YAML alias",
         template=f"heat_template_version: {V}\ndescription: &d [*d]\n"),
    case("nested-too-deeply", ValidationError, "template", "nested deeper than",
         template=f"heat_template_version: {V}\ndescription: " + "[" * 100 + "]" * 100),
    # -- top level -------------------------------------------------------------------------
    case("unknown-template-version", ValidationError, "heat_template_version",
         "unknown template version '2012-12-12'",
         template={"heat_template_version": "2012-12-12"}),
    case("version-not-a-string", ValidationError, "heat_template_version",
         "unknown template version 2015",
         template="heat_template_version: 2015\n"),
    case("missing-version", ValidationError, "heat_template_version", "missing",
         template={"resources": {}}),
    case("unknown-top-level-key", ValidationError, "conditions",
         "unknown top-level key 'conditions'", template=tmpl(conditions={})),
    case("description-not-a-string", ValidationError, "description", "must be a string",
         template=tmpl(description=["a"])),
    # -- resources -------------------------------------------------------------------------
    case("resources-not-a-mapping", ValidationError, "resources",
         "must be a mapping, got a list", template=tmpl(resources=[res()])),
    case("resource-not-a-mapping", ValidationError, "resources.A",
         "a resource must be a mapping", template=tmpl({"A": TEST})),
    case("resource-without-type", ValidationError, "resources.A.type",
         "a resource needs a type; it is missing", template=tmpl({"A": {"properties": {}}})),
    case("unknown-resource-key", ValidationError, "resources.A.update_polcy",
         "unknown resource key 'update_polcy'",
         template=tmpl({"A": res(update_polcy={})})),
    case("unknown-resource-type", UnknownResourceType, "resources.A.type",
         "unknown resource type 'OS::Nova::Server'",
         template=tmpl({"A": res(type_="OS::Nova::Server")})),
    case("bad-deletion-policy", ValidationError, "resources.A.deletion_policy",
         "must be Delete or Retain, got 'Snapshot'",
         template=tmpl({"A": res(deletion_policy="Snapshot")})),
    case("too-many-resources", TooManyResources, "resources",
         "3 resources, more than the limit of 2",
         template=tmpl({"A": res(), "B": res(), "C": res()}), max_resources=2),
    # -- properties ------------------------------------------------------------------------
    case("properties-not-a-mapping", ValidationError, "resources.A.properties",
         "must be a mapping", template=tmpl({"A": res(["value"])})),
    case("unknown-property", PropertyError, "resources.A.properties.valu",
         "unknown property 'valu'", template=tmpl({"A": res({"valu": "x"})})),
    case("unknown-property-with-function", PropertyError, "resources.A.properties.valu",
         "unknown property 'valu'",
         template=tmpl({"A": res({"valu": {"get_resource": "B"}}), "B": res()})),
    case("string-property-given-a-list", PropertyError, "resources.A.properties.value",
         "expected a string, got list", template=tmpl({"A": res({"value": [1]})})),
    case("boolean-property-given-a-word", PropertyError, "resources.A.properties.fail",
         "expected a boolean", template=tmpl({"A": res({"fail": "maybe"})})),
    case("number-property-given-a-word", PropertyError, "resources.A.properties.wait_secs",
         "expected a number", template=tmpl({"A": res({"wait_secs": "soon"})})),
    case("map-property-given-a-list", PropertyError,
         "resources.A.properties.action_wait_secs", "expected a map",
         template=tmpl({"A": res({"action_wait_secs": [1]})})),
    case("nested-map-key-of-wrong-type", PropertyError,
         "resources.A.properties.action_wait_secs.create", "expected a number",
         template=tmpl({"A": res({"action_wait_secs": {"create": "later"}})})),
    case("integer-property-given-a-fraction", PropertyError,
         "resources.A.properties.length", "expected an integer",
         template=tmpl({"A": res({"length": 1.5}, type_="OS::Heat::RandomString")})),
    case("wrong-type-through-get_param", PropertyError, "resources.A.properties.value",
         "expected a string, got dict",
         template=with_param({"type": "json", "default": {"a": 1}})),
    case("value-resource-type-mismatch", PropertyError, "resources.A.properties.value",
         "expected a number",
         template=tmpl({"A": res({"value": "abc", "type": "number"},
                                 type_="OS::Heat::Value")})),
    case("missing-required-property", PropertyError, "resources.A.properties.value",
         "required property is missing",
         template=tmpl({"A": res({"type": "string"}, type_="OS::Heat::Value")})),
    # -- parameters ------------------------------------------------------------------------
    case("missing-required-parameter", ParameterError, "parameters.flavor",
         "required parameter 'flavor' has no value and no default",
         template=tmpl(parameters={"flavor": {"type": "string"}})),
    case("number-parameter-given-a-word", ParameterError, "parameters.p",
         "expected a number, got 'abc'",
         template=with_param({"type": "number"}), parameters={"p": "abc"}),
    case("boolean-parameter-given-a-word", ParameterError, "parameters.p",
         "expected a boolean", template=with_param({"type": "boolean"}),
         parameters={"p": "perhaps"}),
    case("json-parameter-given-bad-json", ParameterError, "parameters.p", "expected JSON",
         template=with_param({"type": "json"}), parameters={"p": "{not json"}),
    case("string-parameter-given-a-list", ParameterError, "parameters.p",
         "expected a string", template=with_param({"type": "string"}),
         parameters={"p": ["a"]}),
    case("hidden-parameter-value-not-shown", ParameterError, "parameters.p",
         "expected a number, got the (hidden) value",
         template=with_param({"type": "number", "hidden": True}), parameters={"p": "s3cret"}),
    case("allowed-values-violated", ParameterError, "parameters.p",
         "'m1.huge' is not one of the allowed values",
         template=with_param({"type": "string",
                              "constraints": [{"allowed_values": ["m1.small", "m1.large"]}]}),
         parameters={"p": "m1.huge"}),
    case("constraint-description-is-the-reason", ParameterError, "parameters.p",
         "Pick a flavour we sell",
         template=with_param({"type": "string", "constraints": [
             {"allowed_values": ["m1.small"], "description": "Pick a flavour we sell"}]}),
         parameters={"p": "m1.huge"}),
    case("length-violated", ParameterError, "parameters.p",
         "has length 2; its length must be between 3 and 8",
         template=with_param({"type": "string",
                              "constraints": [{"length": {"min": 3, "max": 8}}]}),
         parameters={"p": "ab"}),
    case("list-length-violated", ParameterError, "parameters.p",
         "its length must be at most 2",
         template=with_param({"type": "comma_delimited_list",
                              "constraints": [{"length": {"max": 2}}]},
                             {"list_join": [",", {"get_param": "p"}]}),
         parameters={"p": "a,b,c"}),
    case("range-violated", ParameterError, "parameters.p",
         "is out of range: it must be between 1 and 10",
         template=with_param({"type": "number",
                              "constraints": [{"range": {"min": 1, "max": 10}}]}),
         parameters={"p": "11"}),
    case("allowed-pattern-violated", ParameterError, "parameters.p",
         "does not match the allowed pattern '[a-z]+'",
         template=with_param({"type": "string",
                              "constraints": [{"allowed_pattern": "[a-z]+"}]}),
         parameters={"p": "abc1"}),
    case("default-violates-constraint", ParameterError, "parameters.p.default",
         "is out of range",
         template=with_param({"type": "number", "default": 0,
                              "constraints": [{"range": {"min": 1}}]})),
    case("undeclared-parameter-given", ParameterError, "parameters.nope",
         "the template declares no parameter 'nope'", template=tmpl(), parameters={"nope": 1}),
    case("undeclared-environment-parameter", ParameterError, "environment.parameters.nope",
         "the template declares no parameter 'nope'",
         template=tmpl(), environment={"parameters": {"nope": 1}}),
    case("environment-parameter-of-wrong-type", ParameterError, "environment.parameters.p",
         "expected a number", template=with_param({"type": "number"}),
         environment="parameters:\n  p: many\n"),
    case("unknown-parameter-type", ParameterError, "parameters.p.type",
         "unknown parameter type 'integer'", template=with_param({"type": "integer"})),
    case("parameter-without-type", ParameterError, "parameters.p.type",
         "a parameter needs a type", template=with_param({"default": "x"})),
    case("unknown-parameter-key", ParameterError, "parameters.p.defualt",
         "unknown parameter key 'defualt'",
         template=with_param({"type": "string", "defualt": "x"})),
    case("constraint-not-for-this-type", ParameterError, "parameters.p.constraints[0].range",
         "range does not apply to a string parameter",
         template=with_param({"type": "string", "default": "x",
                              "constraints": [{"range": {"min": 1}}]})),
    case("unsupported-constraint", ParameterError,
         "parameters.p.constraints[0].custom_constraint", "unsupported constraint",
         template=with_param({"type": "string", "default": "x",
                              "constraints": [{"custom_constraint": "nova.flavor"}]})),
    case("bad-allowed-pattern", ParameterError, "parameters.p.constraints[0].allowed_pattern",
         "invalid regular expression",
         template=with_param({"type": "string", "default": "x",
                              "constraints": [{"allowed_pattern": "([a-z"}]})),
    case("parameter-group-names-unknown-parameter", InvalidReference,
         "parameter_groups[0].parameters[0]", "declares no parameter 'ghost'",
         template=tmpl(parameter_groups=[{"label": "g", "parameters": ["ghost"]}])),
    # -- intrinsic functions ---------------------------------------------------------------
    case("get_param-of-undeclared-parameter", InvalidReference,
         "resources.A.properties.value", "get_param: the template declares no parameter 'q'",
         template=tmpl({"A": res({"value": {"get_param": "q"}})})),
    case("get_param-path-to-missing-key", ValidationError, "resources.A.properties.value",
         "get_param: parameter 'p' has no item",
         template=with_param({"type": "json", "default": {"a": "1"}},
                             {"get_param": ["p", "b"]})),
    case("get_param-malformed", ValidationError, "resources.A.properties.value",
         "get_param: expected a parameter name",
         template=tmpl({"A": res({"value": {"get_param": [1]}})})),
    case("get_resource-of-missing-resource", InvalidReference,
         "resources.A.properties.value", "get_resource: the template has no resource 'Z'",
         template=tmpl({"A": res({"value": {"get_resource": "Z"}})})),
    case("get_attr-of-missing-resource", InvalidReference, "resources.A.properties.value",
         "get_attr: the template has no resource 'Z'",
         template=tmpl({"A": res({"value": {"get_attr": ["Z", "output"]}})})),
    case("get_attr-unknown-attribute", InvalidReference, "resources.A.properties.value",
         "unknown attribute 'outptu' of resource 'B'",
         template=tmpl({"A": res({"value": {"get_attr": ["B", "outptu"]}}), "B": res()})),
    case("get_attr-malformed", ValidationError, "resources.A.properties.value",
         "get_attr: expected [resource name, attribute name",
         template=tmpl({"A": res({"value": {"get_attr": ["B"]}}), "B": res()})),
    case("unknown-intrinsic-function", ValidationError, "resources.A.properties.value",
         "unknown intrinsic function 'get_parm'",
         template=tmpl({"A": res({"value": {"get_parm": "p"}})})),
    case("unsupported-heat-function", ValidationError,
         "resources.A.properties.value.list_join[1]", "unknown intrinsic function 'digest'",
         template=tmpl({"A": res({"value": {"list_join": [",", {"digest": {}}]}})})),
    case("str_replace-without-params", ValidationError, "resources.A.properties.value",
         "str_replace: argument 'params' is missing",
         template=tmpl({"A": res({"value": {"str_replace": {"template": "x"}}})})),
    case("str_replace-unknown-argument", ValidationError, "resources.A.properties.value",
         "str_replace: unknown argument 'parms'",
         template=tmpl({"A": res({"value": {"str_replace": {"template": "x", "params": {},
                                                            "parms": {}}}})})),
    case("str_replace-template-not-a-string", ValidationError,
         "resources.A.properties.value", "str_replace: the template must be a string",
         template=tmpl({"A": res({"value": {"str_replace": {"template": 5, "params": {}}}})})),
    case("str_replace-params-not-a-mapping", ValidationError,
         "resources.A.properties.value", "str_replace: params must be a mapping, got a list",
         template=tmpl({"A": res({"value": {"str_replace": {"template": "x",
                                                            "params": ["x"]}}})})),
    case("error-inside-str_replace-params", InvalidReference,
         "resources.A.properties.value.str_replace.params.$x", "no resource 'Z'",
         template=tmpl({"A": res({"value": {"str_replace": {
             "template": "$x", "params": {"$x": {"get_resource": "Z"}}}}})})),
    case("list_join-not-a-list", ValidationError, "resources.A.properties.value",
         "list_join: expected [delimiter, list, more lists...], got a string",
         template=tmpl({"A": res({"value": {"list_join": "a,b"}})})),
    case("list_join-delimiter-not-a-string", ValidationError,
         "resources.A.properties.value", "list_join: the delimiter must be a string",
         template=tmpl({"A": res({"value": {"list_join": [1, ["a"]]}})})),
    case("list_join-of-a-string", ValidationError, "resources.A.properties.value",
         "list_join: argument 2 must be a list, got a string",
         template=tmpl({"A": res({"value": {"list_join": [",", "a,b"]}})})),
    case("list_join-of-a-string-parameter", ValidationError, "resources.A.properties.value",
         "list_join: argument 2 must resolve to a list, got a string",
         template=with_param({"type": "string", "default": "a"},
                             {"list_join": [",", {"get_param": "p"}]})),
    # -- dependencies ----------------------------------------------------------------------
    case("depends_on-missing-resource", InvalidReference, "resources.A.depends_on",
         "depends_on: the template has no resource 'Z'",
         template=tmpl({"A": res(depends_on="Z")})),
    case("depends_on-list-item-missing", InvalidReference, "resources.A.depends_on[1]",
         "no resource 'Z'", template=tmpl({"A": res(depends_on=["B", "Z"]), "B": res()})),
    case("depends_on-not-a-name", ValidationError, "resources.A.depends_on",
         "must be a resource name or a list of names", template=tmpl({"A": res(depends_on=3)})),
    case("self-dependency", DependencyCycle, "resources.A.depends_on",
         "resource 'A' depends on itself", template=tmpl({"A": res(depends_on="A")})),
    case("self-reference-through-get_attr", DependencyCycle,
         "resources.A.properties.value", "depends on itself (through get_attr)",
         template=tmpl({"A": res({"value": {"get_attr": ["A", "output"]}})})),
    case("dependency-cycle", DependencyCycle, "resources.A",
         "dependency cycle: A -> B -> C -> A",
         template=tmpl({"A": res(depends_on="B"),
                        "B": res({"value": {"get_attr": ["C", "output"]}}),
                        "C": res({"value": {"get_resource": "A"}})})),
    case("cycle-reached-from-outside", DependencyCycle, "resources.B",
         "dependency cycle: B -> C -> B",
         template=tmpl({"X": res(depends_on="C"), "B": res(depends_on="C"),
                        "C": res(depends_on="B")})),
    # -- environment -----------------------------------------------------------------------
    case("environment-yaml-syntax-error", ValidationError, "environment",
         "YAML syntax error at line 2, column 7", template=tmpl(),
         environment="parameters:\n  a: b: c\n"),
    case("unknown-environment-section", ValidationError,
         "environment.resource_regsitry", "unknown environment section",
         template=tmpl(), environment={"resource_regsitry": {}}),
    case("alias-to-unknown-type", UnknownResourceType,
         "environment.resource_registry.OS::Nova::Server",
         "unknown resource type 'OS::Heat::Nothing'",
         template=tmpl(),
         environment={"resource_registry": {"OS::Nova::Server": "OS::Heat::Nothing"}}),
    case("alias-loop", UnknownResourceType, "environment.resource_registry.X::A",
         "aliases loop",
         template=tmpl(), environment={"resource_registry": {"X::A": "X::B", "X::B": "X::A"}}),
    case("unknown-hook-type", ValidationError,
         "environment.resource_registry.resources.A.hooks", "unknown hook type 'mid-create'",
         template=tmpl({"A": res()}),
         environment={"resource_registry": {"resources": {"A": {"hooks": ["pre-create",
                                                                         "mid-create"]}}}}),
    case("per-resource-registry-other-than-hooks", ValidationError,
         "environment.resource_registry.resources.A.OS::Nova::Server",
         "per resource, an environment sets hooks, restricted_actions or a type mapping",
         template=tmpl({"A": res()}),
         environment={"resource_registry": {"resources": {"A": {"OS::Nova::Server": 3}}}}),
    # -- outputs ---------------------------------------------------------------------------
    case("output-referencing-missing-resource", InvalidReference, "outputs.x.value",
         "get_attr: the template has no resource 'Z'",
         template=tmpl({"A": res()}, outputs={"x": {"value": {"get_attr": ["Z", "output"]}}})),
    case("output-unknown-attribute", InvalidReference, "outputs.x.value",
         "unknown attribute 'id' of resource 'A'",
         template=tmpl({"A": res()}, outputs={"x": {"value": {"get_attr": ["A", "id"]}}})),
    case("output-without-value", ValidationError, "outputs.x.value", "an output needs a value",
         template=tmpl(outputs={"x": {"description": "d"}})),
    case("unknown-output-key", ValidationError, "outputs.x.condition",
         "unknown output key 'condition'",
         template=tmpl(outputs={"x": {"value": 1, "condition": True}})),
    case("output-list_join-of-a-string-parameter", ValidationError, "outputs.x.value",
         "must resolve to a list",
         template=tmpl(parameters={"p": {"type": "string", "default": "a"}},
                       outputs={"x": {"value": {"list_join": [",", {"get_param": "p"}]}}})),
]


@pytest.mark.parametrize(("kwargs", "cls", "path", "phrase"), CASES)
def test_bad_input_is_refused_precisely(
    kwargs: dict, cls: type[ValidationError], path: str, phrase: str
) -> None:
    template = kwargs.pop("template")
    with pytest.raises(ValidationError) as info:
        parse(template, **kwargs)
    err = info.value
    assert type(err) is cls, f"{type(err).__name__}: {err}"
    assert err.path == path, str(err)
    assert phrase in err.reason, str(err)
    assert str(err) == f"{path}: {err.reason}"


def test_error_names_the_source_file() -> None:
    with pytest.raises(PropertyError) as info:
        parse(tmpl({"A": res({"valu": 1})}), source="stacks/web.yaml")
    assert info.value.source == "stacks/web.yaml"
    assert info.value.path == "resources.A.properties.valu"
    assert str(info.value).startswith("stacks/web.yaml: resources.A.properties.valu: ")


def test_yaml_error_reports_line_and_column() -> None:
    text = f"heat_template_version: {V}\nresources:\n  A: {{type: {TEST}\n"
    with pytest.raises(ValidationError) as info:
        parse(text)
    assert info.value.path == "template"
    assert "YAML syntax error at line 4, column 1" in info.value.reason


def test_type_error_known_only_at_resolve_time() -> None:
    """A value that needs a resource is type-checked when it is resolved."""

    class Lookup:
        def physical_id(self, name: str) -> str | None:
            return "id-" + name

        def attribute(self, name: str, attr: str) -> Any:
            return {"not": "a string"}

    template = parse(tmpl({"A": res({"value": {"get_attr": ["B", "output"]}}), "B": res()}))
    with pytest.raises(PropertyError) as info:
        template.resolve_properties("A", Lookup())
    assert info.value.path == "resources.A.properties.value"
    assert "expected a string, got dict" in info.value.reason


def test_value_resource_checked_at_resolve_time() -> None:
    class Lookup:
        def physical_id(self, name: str) -> str | None:
            return None

        def attribute(self, name: str, attr: str) -> Any:
            return "not a number"

    template = parse(tmpl({
        "A": res({"value": {"get_attr": ["B", "output"]}, "type": "number"},
                 type_="OS::Heat::Value"),
        "B": res(),
    }))
    with pytest.raises(PropertyError) as info:
        template.resolve_properties("A", Lookup())
    assert info.value.path == "resources.A.properties.value"
    assert "expected a number" in info.value.reason


def test_there_are_at_least_thirty_distinct_cases() -> None:
    ids = [param.id for param in CASES]
    assert len(ids) == len(set(ids)) >= 30


def test_a_hook_on_a_resource_of_neither_template_nor_stack_is_refused_by_the_service(
        ) -> None:
    """Parsing alone cannot tell (an update's hook may name a resource only the stack
    has): the service checks the names against the template and the stack."""
    env = {"resource_registry": {"resources": {"Z": {"hooks": "pre-create"}}}}
    template = parse(tmpl({"A": res()}), env)
    with pytest.raises(InvalidReference) as info:
        template.environment.check_hook_names(template.resources)
    assert info.value.path == "environment.resource_registry.resources.Z"
    assert "matches no resource of the template or the stack" in info.value.reason
    template.environment.check_hook_names({"A", "Z"})  # Z: a resource of the stack

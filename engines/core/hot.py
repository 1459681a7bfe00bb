"""HOT versions: which template versions exist, and what each one may use.

Heat gives every ``heat_template_version`` its own set of intrinsic functions and
sections; a template written for 2015-04-30 that calls ``map_merge`` is refused there, as
Heat refuses it, even though a later version has it.
"""

from __future__ import annotations

from engines.core.errors import ValidationError

VERSION_KEY = "heat_template_version"
# release names Heat takes for the dated versions
RELEASES = {"newton": "2016-10-14", "ocata": "2017-02-24", "pike": "2017-09-01",
            "queens": "2018-03-02", "rocky": "2018-08-31", "wallaby": "2021-04-16"}
VERSIONS = ("2013-05-23", "2014-10-16", "2015-04-30", "2015-10-15", "2016-04-08",
            "2016-10-14", "2017-02-24", "2017-09-01", "2018-03-02", "2018-08-31",
            "2021-04-16")
LATEST = VERSIONS[-1]

CONDITIONS_SINCE = "2016-10-14"  # the conditions section, `condition` keys, `if`
NULLABLE_IF_SINCE = "2021-04-16"  # `if` with no false branch drops what holds it
REPEAT_MAPS_SINCE = "2016-10-14"  # for_each values may be maps (their keys)
PERMUTATIONS_SINCE = "2017-09-01"  # repeat's `permutations: false`

# the first version that has each function (as Heat's HOTemplate classes list them)
FUNCTION_SINCE = {
    "get_param": VERSIONS[0], "get_resource": VERSIONS[0], "get_attr": VERSIONS[0],
    "str_replace": VERSIONS[0], "list_join": VERSIONS[0], "get_file": VERSIONS[0],
    "repeat": "2015-04-30", "str_split": "2015-10-15", "map_merge": "2016-04-08",
    "map_replace": "2016-10-14", "if": "2016-10-14", "yaql": "2016-10-14",
    "list_concat": "2017-09-01", "list_concat_unique": "2017-09-01",
    "contains": "2017-09-01",
}
# what a condition may call, and since when
CONDITION_FUNCTION_SINCE = {
    "get_param": CONDITIONS_SINCE, "equals": CONDITIONS_SINCE, "not": CONDITIONS_SINCE,
    "and": CONDITIONS_SINCE, "or": CONDITIONS_SINCE, "contains": "2017-09-01",
    "yaql": "2017-09-01",
}


def canonical(version: str) -> str:
    """The dated form of ``version`` (``wallaby`` -> ``2021-04-16``)."""
    return RELEASES.get(version, version)


def at_least(version: str, since: str) -> bool:
    # dated versions sort as text
    return canonical(version) >= since


def check_version(raw: dict) -> str:
    """The template's version as written; ValidationError when missing or unknown."""
    if VERSION_KEY not in raw:
        raise ValidationError(
            VERSION_KEY, "missing: a HOT template must start with heat_template_version"
        )
    version = raw[VERSION_KEY]
    if not isinstance(version, str) or (version not in VERSIONS and version not in RELEASES):
        raise ValidationError(
            VERSION_KEY,
            f"unknown template version {version!r} (accepted: {', '.join(VERSIONS)}, "
            f"{', '.join(RELEASES)})",
        )
    return version


def require(feature: str, since: str, version: str, path: str) -> None:
    """Refuse ``feature`` in a template older than ``since``."""
    if not at_least(version, since):
        raise ValidationError(
            path, f"{feature} is not available in heat_template_version {version} "
                  f"(it needs {since} or later)")

"""Creates are idempotent (engines/core/client_token.py): a physical resource made by a
create whose engine died before it recorded the id is adopted by the next create of that
row, or deleted by its delete -- neither duplicated nor leaked. The crash is made by hand
here: the row is left as the reaper leaves a dead engine's (CREATE_FAILED, no physical id)
while the cloud keeps what the create made, under the row's token."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from engines.core import stack_store
from engines.core.models import Resource
from engines.core.reality import Reality, cloud_resource
from engines.service import EngineService
from tests.functional.conftest import Driver
from tests.functional.templates import hot, res

PATHS = pytest.mark.parametrize("convergence", [False, True], ids=["legacy", "convergence"])


@pytest.fixture
def reality(dualpath_service: EngineService) -> Reality:
    return dualpath_service.rt.reality


def test_a_token_seen_returns_the_resource_it_made(reality: Reality) -> None:
    first = reality.create("s", "A", "T", {"value": "a"}, token="tok-1")
    again = reality.create("s", "A", "T", {"value": "b"}, token="tok-1")
    other = reality.create("s", "A", "T", {"value": "a"}, token="tok-2")
    untokened = [reality.create("s", "A", "T", {}) for _ in range(2)]
    assert again == first and other != first and len(set(untokened)) == 2
    assert reality.get(first)["properties"] == {"value": "b"}, "the retry's definition"
    assert reality.copies("s") == {"A": 4}
    assert "tok-1 seen" in reality.calls("s")[1]["detail"]


def test_a_deleted_resource_frees_its_token(reality: Reality) -> None:
    first = reality.create("s", "A", "T", {}, token="tok")
    reality.delete("s", "A", first)
    assert reality.by_token("tok") is None
    assert reality.create("s", "A", "T", {}, token="tok") != first


def crash_after_cloud_create(service: EngineService, stack_id: str, name: str) -> str:
    """Leave ``name`` as a create that died after the cloud's call: the row CREATE_FAILED
    without a physical id, the physical resource (made with the row's token) in the cloud."""
    row = stack_store.current_resources(service.rt.db, stack_id)[name]
    physical_id = row.physical_resource_id
    with service.rt.db.session() as s:
        s.execute(sa.update(cloud_resource).where(cloud_resource.c.physical_id == physical_id)
                  .values(client_token=row.uuid))
        s.execute(sa.update(Resource).where(Resource.id == row.id).values(
            physical_resource_id=None, action="CREATE", status="FAILED",
            status_reason="Engine x went down during CREATE of A"))
    return physical_id


def template(value: str = "b") -> str:
    return hot({"A": res("a"), "B": {**res(value), "depends_on": ["A"]}})


def start(dualpath_conf_factory: Any, convergence: bool) -> EngineService:
    return EngineService(dualpath_conf_factory(convergence_engine=convergence))


@PATHS
def test_the_next_update_adopts_the_orphan(dualpath_conf_factory, ctx, convergence) -> None:
    with start(dualpath_conf_factory, convergence) as service:
        driver = Driver(service, ctx)
        stack_id = driver.create(template())
        orphan = crash_after_cloud_create(service, stack_id, "A")
        driver.update(stack_id, template("b2"))
        view = driver.show(stack_id)
        assert view["stack_status"] == "UPDATE_COMPLETE", view["status_reason"]
        assert driver.physical_ids(stack_id)["A"] == orphan, "adopted, not made again"
        assert driver.copies(stack_id) == {"A": 1, "B": 1}
        driver.delete(stack_id)
        assert service.cloud.resources() == []


@PATHS
def test_a_delete_deletes_the_orphan(dualpath_conf_factory, ctx, convergence) -> None:
    with start(dualpath_conf_factory, convergence) as service:
        driver = Driver(service, ctx)
        stack_id = driver.create(template())
        orphan = crash_after_cloud_create(service, stack_id, "A")
        driver.delete(stack_id)
        assert driver.show(stack_id)["stack_status"] == "DELETE_COMPLETE"
        assert service.cloud.resources() == []
        deletes = [c for c in service.cloud.calls(stack_id) if c["action"] == "DELETE"]
        assert orphan in {c["physical_id"] for c in deletes}


def test_a_replacement_of_a_recorded_create_makes_a_new_resource(driver: Driver) -> None:
    """Only a create whose result was never recorded hands its token on: a failed resource
    that has its physical id is replaced by a new one, as before."""
    stack_id = driver.create(hot({"A": res("a", fail=True)}), disable_rollback=True)
    first = driver.physical_ids(stack_id)["A"]
    assert first
    driver.update(stack_id, hot({"A": res("a")}))
    assert driver.physical_ids(stack_id)["A"] != first


def test_a_cloud_made_before_tokens_gets_their_column(tmp_path) -> None:
    """The cloud's tables are not migrated: one made by an older version is given the
    column when a process starts on it (SQLite) or is prepared again (servers)."""
    from engines.core import db as engine_db

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = sa.MetaData()
    sa.Table("cloud_resource", old, *(sa.Column(c.name, c.type, primary_key=c.primary_key)
                                      for c in cloud_resource.columns
                                      if c.name != "client_token"))
    engine = sa.create_engine(url)
    old.create_all(engine)
    engine.dispose()
    reality = Reality(engine_db.Database(url))
    made = reality.create("s", "A", "T", {}, token="tok")
    assert reality.by_token("tok") == made
    assert reality.create("s", "A", "T", {}, token="tok") == made
    engine_db.dispose(url)

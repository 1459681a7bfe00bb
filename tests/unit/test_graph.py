"""The convergence traversal graph: update nodes by name, clean-up nodes by stored row."""

from __future__ import annotations

from engines.convergence.graph import BARRIER, Graph, cleanup_entity, cleanup_row_id, key


def cleanup(name: str, row_id: int) -> tuple[str, bool]:
    return (cleanup_entity(name, row_id), False)


def order(graph: Graph) -> list[tuple[str, bool]]:
    """A run of the traversal: every node once, each after all it requires, or fail."""
    done: list[tuple[str, bool]] = []
    pending = dict(graph.requires)
    while pending:
        ready = sorted(n for n, reqs in pending.items() if reqs <= set(done))
        assert ready, f"the traversal is stuck with {sorted(map(key, pending))} waiting"
        for node in ready:
            done.append(node)
            del pending[node]
    return done


def test_update_nodes_follow_the_template_and_clean_ups_come_after_all_of_them():
    graph = Graph.build({"A": [], "B": ["A"]}, {1: ("A", []), 2: ("B", [1])})
    assert graph.requires[("A", True)] == set()
    assert graph.requires[("B", True)] == {("A", True)}
    run = order(graph)
    assert max(run.index(("A", True)), run.index(("B", True))) < min(
        run.index(cleanup("A", 1)), run.index(cleanup("B", 2))), "updates, then clean-ups"
    assert run.index(cleanup("B", 2)) < run.index(cleanup("A", 1)), "dependant first"
    # through one barrier, and only the edges the order needs: B's update comes after A's,
    # A's clean-up after B's
    assert graph.requires[BARRIER] == {("B", True)}
    assert graph.requires[cleanup("B", 2)] == {BARRIER}
    assert graph.requires[cleanup("A", 1)] == {cleanup("B", 2)}
    assert graph.leaves() == [("A", True)]


def test_every_update_comes_before_every_clean_up_on_a_wide_and_deep_graph():
    template = {f"R{i}": ([f"R{i - 3}", f"R{i - 2}"] if i >= 3 else []) for i in range(30)}
    existing = {i + 1: (f"R{i}", [i - 2, i - 1] if i >= 3 else []) for i in range(30)}
    graph = Graph.build(template, existing)
    run = order(graph)
    last_update = max(run.index((name, True)) for name in template)
    assert all(run.index(cleanup(f"R{i}", i + 1)) > last_update for i in range(30))
    assert len(graph.requires[BARRIER]) < len(template), "only the updates nothing waits for"


def test_generations_with_a_turned_around_dependency_do_not_deadlock():
    # v1: B#2 required A#1; v2 replaced both: A#3 requires B#4. By name, A's clean-up
    # would wait for B's and B's for A's; by row each copy waits for its own dependant.
    existing = {1: ("A", []), 2: ("B", [1]), 3: ("A", [4]), 4: ("B", [])}
    graph = Graph.build({}, existing)  # a delete
    run = order(graph)
    assert run.index(cleanup("B", 2)) < run.index(cleanup("A", 1))
    assert run.index(cleanup("A", 3)) < run.index(cleanup("B", 4))
    assert sorted(graph.leaves()) == [cleanup("A", 3), cleanup("B", 2)]


def test_copies_of_one_resource_are_independent_of_each_other():
    graph = Graph.build({"A": []}, {1: ("A", []), 2: ("A", [])})
    assert graph.requires[cleanup("A", 1)] == graph.requires[cleanup("A", 2)] == {BARRIER}


def test_an_old_copy_is_cleaned_up_after_the_copy_that_replaced_it():
    # as Heat's graph: concurrent deletes of two copies interleave their events at random
    graph = Graph.build({}, {1: ("A", []), 2: ("A", []), 3: ("B", [2])}, replaces={2: 1})
    assert graph.requires[cleanup("A", 1)] == {cleanup("A", 2)}
    run = order(graph)
    assert run.index(cleanup("B", 3)) < run.index(cleanup("A", 2)) < run.index(cleanup("A", 1))


def test_no_barrier_without_both_phases():
    assert BARRIER not in Graph.build({}, {1: ("A", [])}).requires  # a delete
    assert BARRIER not in Graph.build({"A": []}, {}).requires  # a first create


def test_requirements_on_rows_that_are_gone_are_ignored():
    graph = Graph.build({}, {5: ("B", [1, 99])})
    assert graph.requires == {cleanup("B", 5): set()}


def test_a_loop_in_stored_requirements_is_broken_so_the_traversal_starts(caplog):
    graph = Graph.build({}, {1: ("A", [2]), 2: ("B", [3]), 3: ("C", [1])})
    assert len(order(graph)) == 3
    assert "loops" in caplog.text
    assert sum(len(reqs) for reqs in graph.requires.values()) == 2, "one edge dropped"


def test_a_long_chain_builds_without_recursion():
    rows = {i: (f"R{i}", [i - 1] if i > 1 else []) for i in range(1, 5001)}
    graph = Graph.build({}, rows)
    assert graph.leaves() == [cleanup("R5000", 5000)]
    assert graph.roots() == [cleanup("R1", 1)]


def test_the_graph_survives_its_json_and_row_ids_come_back():
    graph = Graph.build({"A": [], "B": ["A"]}, {7: ("A", []), 8: ("B", [7])})
    assert Graph.from_json(graph.to_json()) == graph
    assert cleanup_row_id(cleanup_entity("we#ird", 42)) == 42

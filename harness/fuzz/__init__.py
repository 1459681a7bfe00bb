"""``dualpath fuzz``: generated stacks and operation sequences (Hypothesis), run through the
same parity pipeline as ``dualpath run`` with invariants on each path; every finding is
shrunk to a scenario file of our format.

In reading order: ``model`` (a stack template as a DAG, and its mutations), ``strategies``
(Hypothesis strategies that draw cases), ``story`` (a case as a scenario document),
``invariants`` (what must hold on each path after every operation settles), ``oracle``
(one case on both paths, with repeats), ``campaign`` (the Hypothesis-driven search under a
wall-clock budget), ``findings`` (shrunk findings written as scenario files), ``cli``.
"""

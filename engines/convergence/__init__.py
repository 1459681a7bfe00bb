"""The convergence path: traversals over a stored graph, sync points, per-resource locks,
check_resource workers over oslo.messaging. Never imports engines.legacy."""

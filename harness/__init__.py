"""The dualpath harness: proves, scenario by scenario, that switching the engine's default
path breaks nothing.

- ``experiment/``: the parity pipeline, in reading order (runner, execute, observation,
  normalize, diff, classify, divergence_registry);
- ``infra/``: the databases a run needs;
- ``cli/``: the ``dualpath`` command, one module per subcommand;
- ``selftest/``: deliberately broken engines, to prove the pipeline catches them;
- ``pytest_plugin.py``: the same machinery as a pytest plugin.

The harness drives the engine only through ``engines.service`` (and the public
``engines.processes`` and ``engines.observe``); tests/unit/test_architecture.py holds it to
that.
"""

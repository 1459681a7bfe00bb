"""The ``dualpath`` command: ``main`` dispatches, one module per subcommand (``run``,
``db``, ``stack``, ``demo``; ``worker`` is the engine's own, ``engines/cli_worker.py``;
``report`` and ``gate`` are ``reports/cli.py``)."""

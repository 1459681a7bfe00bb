"""The orchestration engine: a shared core and two paths (legacy, convergence)."""

import importlib.util

from sqlalchemy.dialects import registry as _dialects

# SQLAlchemy 2.1 reads a bare ``postgresql://`` URL as psycopg 3; the driver we ship (and
# oslo.db's error filters are tested with) is psycopg2. Where psycopg 3 is absent, a bare
# URL means psycopg2 as it did before, so the URL users type works as they expect.
if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2"):
    _dialects.register("postgresql", "sqlalchemy.dialects.postgresql.psycopg2",
                       "PGDialect_psycopg2")

"""What a run stands on: a database of its own per scenario run (``provisioning``), cloned
from a migrated template (``databases``)."""

"""The orchestration engine: a shared core and two paths (legacy, convergence)."""

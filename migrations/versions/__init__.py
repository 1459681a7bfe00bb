"""Alembic revisions (a package only so that installing dualpath ships them)."""

"""The harness tested on itself: broken variants of an engine path that a run must catch.
The one place allowed to patch engine internals."""

"""The legacy path: a whole stack in memory, one stack lock, a dependency-ordered scheduler."""

"""Resource plugins shipped with dualpath (registered as stevedore entry points)."""

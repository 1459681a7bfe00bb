"""The verdicts a parity run gives a scenario, which of them are against the flip, and the
exit codes every ``dualpath`` command shares: 0 ok, 1 a verdict against (or a failed
operation), 2 bad input."""

from __future__ import annotations

PARITY = "parity"
EXPECTED_DIVERGENCE = "expected-divergence"
PATH_SPECIFIC = "path-specific"
UNEXPECTED_DIVERGENCE = "unexpected-divergence"
# a path that disagrees with itself between two repeats (anything but what the engine
# declares random): a bug of that path, never noise
FLAKY = "flaky"
FAILED = "failed"
ERROR = "error"

VERDICTS = (PARITY, EXPECTED_DIVERGENCE, PATH_SPECIFIC, UNEXPECTED_DIVERGENCE, FLAKY, FAILED,
            ERROR)
BAD_VERDICTS = frozenset({UNEXPECTED_DIVERGENCE, FLAKY, FAILED, ERROR})

EXIT_OK, EXIT_AGAINST, EXIT_BAD_INPUT = 0, 1, 2

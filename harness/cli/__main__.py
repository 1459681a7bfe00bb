"""``python -m harness.cli``: the ``dualpath`` command without its console script."""

import sys

from harness.cli.main import main

sys.exit(main())

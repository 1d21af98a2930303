"""``python -m bayesma.cli``: the ``bayesma`` command."""

import sys

from bayesma.cli import main

sys.exit(main())

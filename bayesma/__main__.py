"""``python -m bayesma``: the ``bayesma`` command (same as ``python -m bayesma.cli``)."""

import sys

from bayesma.cli import main

if __name__ == "__main__":
    sys.exit(main())

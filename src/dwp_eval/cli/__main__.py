"""``python -m dwp_eval.cli``: the ``dwp-eval`` command."""

import sys

from dwp_eval.cli import main

if __name__ == "__main__":
    sys.exit(main())

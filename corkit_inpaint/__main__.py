"""``python -m corkit_inpaint``: the command line."""

import sys

from .cli import main

sys.exit(main())

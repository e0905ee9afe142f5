"""`python -m dual_ticker`: the project's command line (dual_ticker.cli.main)."""

import sys

from dual_ticker.cli.main import main

sys.exit(main())

"""`python -m services.command ...`: the same as `cma ...`."""

import sys

from services.command.main import main

sys.exit(main())

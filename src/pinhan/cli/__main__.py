"""``python -m pinhan.cli ...`` (and ``torchrun -m pinhan.cli ...``) run the ``pinhan`` command."""

import sys

from pinhan.cli import main

sys.exit(main())

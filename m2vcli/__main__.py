"""``python -m m2vcli`` runs the ``m2v`` command."""

from __future__ import annotations

import sys

from m2vcli.cli import main

sys.exit(main())

"""``python -m hookinbox``: the same as the ``hookinbox`` command."""

from __future__ import annotations

import sys

from hookinbox.cli import main

if __name__ == "__main__":
    sys.exit(main())

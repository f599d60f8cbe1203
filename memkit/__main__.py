"""``python -m memkit``: see :mod:`memkit.cli`."""

from .cli import main

raise SystemExit(main())

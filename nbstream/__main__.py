"""``python -m nbstream``: the same as the ``nbstream`` command."""

from nbstream.cli import main

raise SystemExit(main())

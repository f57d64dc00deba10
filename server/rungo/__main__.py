"""`python -m rungo`: the same entry point as the `rungo` console script."""

from rungo.cli import main

raise SystemExit(main())

"""``python3 -m icbhi_shards <feature-set-dir> [--verify]``: summarise (and verify) a feature set."""

from . import _main

raise SystemExit(_main())

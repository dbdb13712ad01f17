"""``python -m trading_infra``: synthesize (what cdktf.json's ``app`` runs)."""

import sys

from trading_infra.app import main

sys.exit(main())

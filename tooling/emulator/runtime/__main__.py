"""``python -m tooling.emulator.runtime --root <repo>``: install the runtime environments.

A module of its own (not ``-m ...environment``) because the package imports ``environment``,
and running an already imported module with ``-m`` executes it a second time.
"""

import sys

from tooling.emulator.runtime.environment import main

sys.exit(main())

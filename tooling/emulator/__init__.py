"""The local AWS emulator: moto's server with the project's patches, run as a process of its own.

``process`` starts, finds and stops it (``record``: its record on disk, ``local_target``: what
clients of the local target need: endpoints, credentials, provider configuration); ``server`` is
that process (``python -m tooling.emulator.server``); ``patches`` holds the compatibility patches
of moto, one module per AWS service; ``fixtures`` creates what an account already has. The gaps
the patches close are listed in docs/emulator.md.
"""

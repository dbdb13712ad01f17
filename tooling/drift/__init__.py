"""Drift between what is declared and what runs.

``live`` plans every deployed stack without its lock and publishes the change count per region
(the ``TAP/Drift`` metric); ``static`` compares the synthesized stacks of a multi-region
environment's regions with each other, without touching any cloud.
"""

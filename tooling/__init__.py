"""Deployment tooling of the repository, below the thin ``tasks.py`` shell.

``lifecycle`` (deploy, plan, destroy, drift of the synthesized stacks), ``build`` (Lambda zips,
synth stamp), ``drift`` (live and static), ``terraform`` (the one Terraform runner), ``emulator``
(the local AWS emulator), ``security``, ``bench`` and ``function_logs``.
"""

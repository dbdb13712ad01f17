"""Deployment tooling of the repository: Terraform runner, local AWS emulator, invoke helpers."""

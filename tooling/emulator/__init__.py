"""The local AWS emulator: moto's server with the project's patches, run as a process of its own.

``process`` starts, finds and stops it and describes the local target for clients.
"""

"""Adapters implementing the ports in ``api_handler.ports``.

- :mod:`api_handler.adapters.dynamodb`: the production adapters. Its module docstring is the
  authoritative list of the AWS API actions this function calls (the IAM policy's source).
- :mod:`api_handler.adapters.memory`: in-memory adapters for unit tests and local runs
  (no AWS calls at all).
"""

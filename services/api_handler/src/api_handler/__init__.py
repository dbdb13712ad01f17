"""HTTP API (API Gateway payload 2.0) for sessions and trade look-ups.

Layout (Cosmic Python style, dependencies point inwards):

- ``domain/``: session rules, trades, pagination tokens, identifier formats, error types
  (pure; no boto3, no HTTP status codes).
- ``ports``: ``SessionRepository`` and ``TradeReader`` protocols.
- ``services``: one function per use case, over the ports.
- ``adapters/``: DynamoDB (production; its docstring lists the IAM actions) and in-memory.
- ``httpapi``: payload-2.0 requests/responses and the single error -> response mapping.
- ``app``: routing and endpoints; ``wiring``: configuration + clients + adapters.
- ``handler``: the Lambda entrypoint ``api_handler.handler.lambda_handler``.
- ``events``: builders of realistic HTTP API events and Lambda contexts (tests, dev server).
- ``samples``: one named sample event per route and for the authorizer (``./tap invoke``).
"""

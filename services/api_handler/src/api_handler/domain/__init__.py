"""Domain of the API: session rules, trades, pagination tokens, input validation, errors.

Pure Python (plus pydantic for request models): nothing here imports boto3 or knows about
HTTP status codes; the entrypoint (``api_handler.app``) maps these errors to responses.
"""

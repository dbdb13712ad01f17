"""HTTP API (API Gateway payload 2.0) for sessions and trade look-ups."""

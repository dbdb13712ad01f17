"""Ingests trade batch files (CSV, JSON Lines) from S3 into the trades table, idempotently."""

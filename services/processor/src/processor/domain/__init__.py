"""The trade-ingestion domain: trade model, file parsing, quarantine and the ingest service.

Nothing in this package imports boto3 or botocore; AWS is reached only through the ports
(``processor.domain.ports``), implemented by ``processor.adapters``.
"""

"""Wiring: configuration + boto3 clients -> the ingest service (the composition root)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import boto3
from botocore.config import Config as BotoConfig

from processor.adapters.dynamodb import DynamoDBTradeRepository
from processor.adapters.s3 import S3ObjectSource, S3QuarantineSink
from processor.config import Config
from processor.domain.service import IngestService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# Standard retry mode retries throttling, 5xx and connection errors with backoff; timeouts
# stay well inside the function's 30 s timeout. AWS_ENDPOINT_URL (local emulator) is honoured
# by boto3 itself: no endpoint is passed here.
CLIENT_CONFIG: Final = BotoConfig(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
)


def build_service(
    config: Config, s3_client: S3Client, dynamodb_client: DynamoDBClient
) -> IngestService:
    return IngestService(
        source=S3ObjectSource(s3_client),
        repository=DynamoDBTradeRepository(dynamodb_client, config.trades_table_name),
        quarantine=S3QuarantineSink(s3_client),
        quarantine_prefix=config.quarantine_prefix,
    )


def build_clients(config: Config) -> tuple[S3Client, DynamoDBClient]:
    s3 = boto3.client("s3", region_name=config.region, config=CLIENT_CONFIG)
    dynamodb = boto3.client("dynamodb", region_name=config.region, config=CLIENT_CONFIG)
    return s3, dynamodb


def bootstrap(environ: Mapping[str, str] | None = None) -> tuple[Config, IngestService]:
    """Validate the configuration, build the clients and the service."""
    config = Config.from_env(os.environ if environ is None else environ)
    s3, dynamodb = build_clients(config)
    return config, build_service(config, s3, dynamodb)

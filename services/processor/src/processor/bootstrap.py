"""Wiring: configuration + boto3 clients -> the ingest service (the composition root).

Imported on the first invocation, not at cold start (boto3 alone costs ~100 ms to import).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import boto3
from botocore.config import Config as BotoConfig

from processor.adapters.dynamodb import DynamoDBTradeRepository
from processor.adapters.lambda_invoke import LambdaSelfInvoker
from processor.adapters.s3 import S3ObjectSource, S3QuarantineSink
from processor.config import Config
from processor.domain.ports import ContinuationSink
from processor.domain.service import IngestService

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client

# Standard retry mode retries throttling, 5xx and connection errors with backoff; timeouts
# stay well inside the function's 30 s timeout. AWS_ENDPOINT_URL (local emulator) is honoured
# by boto3 itself: no endpoint is passed here.
CLIENT_CONFIG: Final = BotoConfig(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=10,
)
# Windows whose DynamoDB calls overlap (one BatchGetItem + one TransactWriteItems each).
DYNAMODB_IN_FLIGHT: Final = 4


@dataclass(frozen=True, slots=True)
class Runtime:
    config: Config
    service: IngestService
    continuations: ContinuationSink


def build_service(
    config: Config, s3_client: S3Client, dynamodb_client: DynamoDBClient
) -> IngestService:
    return IngestService(
        source=S3ObjectSource(s3_client),
        repository=DynamoDBTradeRepository(dynamodb_client, config.trades_table_name),
        quarantine=S3QuarantineSink(s3_client),
        quarantine_prefix=config.quarantine_prefix,
        max_in_flight=DYNAMODB_IN_FLIGHT,
    )


def build_clients(config: Config) -> tuple[S3Client, DynamoDBClient]:
    s3 = boto3.client("s3", region_name=config.region, config=CLIENT_CONFIG)
    dynamodb = boto3.client("dynamodb", region_name=config.region, config=CLIENT_CONFIG)
    return s3, dynamodb


def build_continuations(config: Config) -> LambdaSelfInvoker:
    """The self-invoker; its Lambda client is created only when a file needs a continuation."""

    def client() -> LambdaClient:
        return boto3.client("lambda", region_name=config.region, config=CLIENT_CONFIG)

    return LambdaSelfInvoker(client, config.function_name)


def bootstrap(environ: Mapping[str, str] | None = None) -> Runtime:
    """Validate the configuration, build the clients, the service and the self-invoker."""
    config = Config.from_env(os.environ if environ is None else environ)
    s3, dynamodb = build_clients(config)
    return Runtime(config, build_service(config, s3, dynamodb), build_continuations(config))

"""Composition root: the one place where configuration, AWS clients and adapters meet."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

import boto3

from api_handler.adapters.dynamodb import DynamoDbSessionRepository, DynamoDbTradeReader
from api_handler.app import App
from api_handler.authorization import SessionAuthorizer
from api_handler.config import (
    AuthorizerSettings,
    Settings,
    load_authorizer_settings,
    load_settings,
)
from api_handler.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def build_app(settings: Settings, dynamodb: DynamoDBClient) -> App:
    """The application for ``settings`` over the given DynamoDB client."""
    logger.setLevel(settings.log_level)
    return App(
        sessions=DynamoDbSessionRepository(dynamodb, settings.sessions_table_name),
        trades=DynamoDbTradeReader(
            dynamodb, settings.trades_table_name, settings.trades_by_account_index
        ),
        default_ttl_seconds=settings.session_ttl_seconds,
        logger=logger,
    )


@functools.cache
def get_app() -> App:
    """The application configured from the environment, built once per execution environment.

    Raises :class:`api_handler.config.ConfigError` naming every missing or invalid variable
    (not cached, so a fixed environment is picked up by the next call). No endpoint is passed:
    boto3 itself honours ``AWS_ENDPOINT_URL`` (used with local emulators).
    """
    settings = load_settings(os.environ)
    return build_app(settings, boto3.client("dynamodb", region_name=settings.region))


def build_authorizer(settings: AuthorizerSettings, dynamodb: DynamoDBClient) -> SessionAuthorizer:
    """The session authorizer for ``settings`` over the given DynamoDB client."""
    logger.setLevel(settings.log_level)
    return SessionAuthorizer(
        sessions=DynamoDbSessionRepository(dynamodb, settings.sessions_table_name),
        logger=logger,
    )


@functools.cache
def get_authorizer() -> SessionAuthorizer:
    """The authorizer configured from the environment, built once per execution environment
    (a configuration error is raised, not cached)."""
    settings = load_authorizer_settings(os.environ)
    return build_authorizer(settings, boto3.client("dynamodb", region_name=settings.region))

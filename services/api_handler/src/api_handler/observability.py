"""The service's structured JSON logger (AWS Lambda Powertools).

Created with an explicit level so that importing never fails on a bad ``LOG_LEVEL``;
the validated level is applied when the application is wired (first invocation).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

SERVICE_NAME = "trading-api-handler"

logger = Logger(service=SERVICE_NAME, level="INFO")

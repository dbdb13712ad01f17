"""Lambda entrypoint of the user routes' authorizer (handler string
``api_handler.authorizer.lambda_handler``), shipped in the same zip as the API handler.

Importing this module needs no configuration: the environment (``SESSIONS_TABLE_NAME``,
``LOG_LEVEL``, the region) is read on the first invocation. Any failure raises, so API Gateway
answers 500 and caches nothing (see :mod:`api_handler.authorization`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from api_handler.authorization import AuthorizerResponse
from api_handler.observability import logger
from api_handler.wiring import get_authorizer


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> AuthorizerResponse:
    """Answer one HTTP API authorizer event (payload 2.0, simple response)."""
    try:
        return get_authorizer().authorize(event)
    except Exception:
        logger.exception("authorizer failed")
        raise

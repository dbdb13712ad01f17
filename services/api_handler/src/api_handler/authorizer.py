"""Lambda entrypoint of the user routes' authorizer (handler string
``api_handler.authorizer.lambda_handler``), shipped in the same zip as the API handler.

Importing this module needs no configuration and imports only the standard library: the
Powertools logger, boto3 and the session rules are loaded on the first invocation (the cold
import stays far below the 250 ms budget; ``./tap bench --services`` measures it). The
environment (``SESSIONS_TABLE_NAME``, ``LOG_LEVEL``, the region) is read on the first
invocation too. Any failure raises, so API Gateway answers 500 and caches nothing (see
:mod:`api_handler.authorization`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from api_handler.authorization import AuthorizerResponse

Authorize = Callable[[dict[str, Any], "LambdaContext"], "AuthorizerResponse"]


@functools.cache
def _authorize() -> Authorize:
    """The authorizer with the Powertools logger's context, built on first use."""
    from api_handler.observability import logger
    from api_handler.wiring import get_authorizer

    @logger.inject_lambda_context(clear_state=True)
    def authorize(event: dict[str, Any], context: LambdaContext) -> AuthorizerResponse:
        try:
            return get_authorizer().authorize(event)
        except Exception:
            logger.exception("authorizer failed")
            raise

    return authorize


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> AuthorizerResponse:
    """Answer one HTTP API authorizer event (payload 2.0, simple response)."""
    return _authorize()(event, context)

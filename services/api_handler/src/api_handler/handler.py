"""Lambda entrypoint (handler string ``api_handler.handler.lambda_handler``).

Importing this module needs no configuration: the environment is read and validated on the
first invocation (see :func:`api_handler.wiring.get_app`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from api_handler.config import ConfigError
from api_handler.httpapi import Response, error_response
from api_handler.observability import logger
from api_handler.wiring import get_app


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Response:
    """Serve one API Gateway HTTP API (payload 2.0) event."""
    try:
        app = get_app()
    except ConfigError as error:
        logger.error(str(error))
        return error_response(error)
    except Exception as error:  # e.g. no region: still a JSON 500, never a runtime crash
        logger.exception("could not initialise the application")
        return error_response(error)
    return app.handle(event)

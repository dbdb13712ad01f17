"""Lambda entrypoint (handler string ``api_handler.handler.lambda_handler``).

Importing this module needs no configuration and imports only the standard library: the
Powertools logger, pydantic (the request models and the configuration's session rules), boto3
and the application are loaded on the first invocation and then reused by the warm execution
environment. That keeps the cold import far below the 250 ms budget (``./tap bench
--services`` measures it). The environment is read and validated on the first invocation too
(see :func:`api_handler.wiring.get_app`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from api_handler.httpapi import Response

Handler = Callable[[dict[str, Any], "LambdaContext"], "Response"]


@functools.cache
def _serve() -> Handler:
    """The request handler with the Powertools logger's context, built on first use."""
    from api_handler.config import ConfigError
    from api_handler.httpapi import error_response
    from api_handler.observability import logger
    from api_handler.wiring import get_app

    @logger.inject_lambda_context(clear_state=True)
    def serve(event: dict[str, Any], context: LambdaContext) -> Response:
        try:
            app = get_app()
        except ConfigError as error:
            logger.error(str(error))
            return error_response(error)
        except Exception as error:  # e.g. no region: still a JSON 500, never a runtime crash
            logger.exception("could not initialise the application")
            return error_response(error)
        return app.handle(event)

    return serve


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Response:
    """Serve one API Gateway HTTP API (payload 2.0) event."""
    return _serve()(event, context)

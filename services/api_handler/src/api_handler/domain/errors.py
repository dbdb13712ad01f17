"""Errors a client can cause, each with a stable machine-readable ``code``.

Messages are written for the API's callers: they name the problem (a field, a parameter)
and never contain internal details such as table names or exception class names.
Which HTTP status each error becomes is decided in exactly one place,
``api_handler.httpapi.error_response``.
"""

from __future__ import annotations

from typing import ClassVar


class ApiError(Exception):
    """Base of every error caused by the request rather than by the service."""

    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the request is malformed (400) ----------------------------------------------------------


class InvalidRequestError(ApiError):
    """The request is malformed; the client must change it before retrying."""

    code = "invalid_request"


class InvalidBodyError(InvalidRequestError):
    """The body is not a UTF-8 JSON object (or not valid base64 when flagged as such)."""

    code = "invalid_body"


class RequestValidationError(InvalidRequestError):
    """The JSON body is well-formed but a field is missing, of the wrong type or out of range."""

    code = "validation_error"


class InvalidPathParameterError(InvalidRequestError):
    """A path segment (an id) has the wrong format."""

    code = "invalid_path_parameter"


class InvalidQueryParameterError(InvalidRequestError):
    """A query-string parameter is unknown or has a wrong value."""

    code = "invalid_query_parameter"


class InvalidPageTokenError(InvalidRequestError):
    """A ``next_token`` that this API did not issue for this account (malformed or tampered)."""

    code = "invalid_next_token"


# --- the caller is not allowed (401, 403) -----------------------------------------------------


class UnauthorizedError(ApiError):
    """The request carries no valid credentials for this route (missing or unusable
    authorizer context, or a session that has since ended)."""

    code = "unauthorized"


class ForbiddenError(ApiError):
    """The caller is authenticated but may not do this (e.g. list another account's trades)."""

    code = "forbidden"


# --- the addressed thing does not exist (404) ------------------------------------------------


class NotFoundError(ApiError):
    """The addressed resource does not exist."""

    code = "not_found"


class SessionNotFoundError(NotFoundError):
    """No unexpired session has this id."""

    code = "session_not_found"

    def __init__(self) -> None:
        super().__init__("session not found")


class TradeNotFoundError(NotFoundError):
    """No trade has this id."""

    code = "trade_not_found"

    def __init__(self) -> None:
        super().__init__("trade not found")


class RouteNotFoundError(NotFoundError):
    """No route matches the request path."""

    code = "route_not_found"


# --- HTTP-level refusals ---------------------------------------------------------------------


class MethodNotAllowedError(ApiError):
    """The path exists but not with this method; ``allow`` lists the methods it accepts."""

    code = "method_not_allowed"

    def __init__(self, method: str, allow: tuple[str, ...]) -> None:
        super().__init__(f"method {method} is not allowed here; allowed: {', '.join(allow)}")
        self.allow = allow


class PayloadTooLargeError(ApiError):
    """The request body exceeds the size limit."""

    code = "payload_too_large"

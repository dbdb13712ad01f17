"""The JSON bodies this API answers with, as pydantic models.

The endpoints build their responses through these models and :mod:`api_handler.openapi`
publishes their JSON Schemas, so the document cannot describe a body the code does not
produce. ``extra="forbid"`` makes the published schemas closed (``additionalProperties:
false``): a client validating against them notices any field added without the document.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api_handler.domain.identifiers import (
    ACCOUNT_ID_PATTERN,
    SESSION_ID_PATTERN,
    TRADE_ID_PATTERN,
    UTC_TIMESTAMP_PATTERN,
    format_utc_timestamp,
)
from api_handler.domain.pagination import MAX_TOKEN_LENGTH
from api_handler.domain.sessions import Session
from api_handler.domain.trades import Trade

#: ``format(Decimal, "f")``: plain decimal text, never exponent notation.
PRICE_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
#: Unpadded base64url (see api_handler.domain.pagination).
NEXT_PAGE_PATTERN = r"^[A-Za-z0-9_-]+$"

AccountId = Annotated[str, Field(pattern=ACCOUNT_ID_PATTERN, description="The account.")]
UtcTimestamp = Annotated[
    str, Field(pattern=UTC_TIMESTAMP_PATTERN, description="UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ.")
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthBody(_Body):
    """The health check's answer."""

    status: Literal["ok"]


class SessionBody(_Body):
    """A login session."""

    session_id: Annotated[
        str,
        Field(
            pattern=SESSION_ID_PATTERN,
            description="The bearer credential of user routes (256 random bits). Keep secret.",
        ),
    ]
    account_id: AccountId
    created_at: UtcTimestamp
    expires_at: Annotated[
        int,
        Field(
            ge=0,
            description="Epoch seconds; the session is valid while now < expires_at.",
        ),
    ]

    @classmethod
    def of(cls, session: Session) -> SessionBody:
        return cls(
            session_id=session.session_id,
            account_id=session.account_id,
            created_at=format_utc_timestamp(session.created_at),
            expires_at=session.expires_at,
        )


class TradeBody(_Body):
    """The public view of a trade (internal bookkeeping attributes are never read)."""

    trade_id: Annotated[str, Field(pattern=TRADE_ID_PATTERN)]
    account_id: AccountId
    symbol: str
    side: str
    quantity: int
    price: Annotated[
        str,
        Field(pattern=PRICE_PATTERN, description="The exact stored decimal, as text (no float)."),
    ]
    currency: str
    executed_at: UtcTimestamp

    @classmethod
    def of(cls, trade: Trade) -> TradeBody:
        return cls(
            trade_id=trade.trade_id,
            account_id=trade.account_id,
            symbol=trade.symbol,
            side=trade.side,
            quantity=trade.quantity,
            price=trade.price_text,
            currency=trade.currency,
            executed_at=trade.executed_at,
        )


class TradePageBody(_Body):
    """A page of an account's trades, newest first."""

    items: list[TradeBody]
    next_token: Annotated[
        str | None,
        Field(
            pattern=NEXT_PAGE_PATTERN,
            max_length=MAX_TOKEN_LENGTH,
            description="Pass back unchanged for the next page; null on the last page.",
        ),
    ]


class ErrorDetail(_Body):
    code: str = Field(description="Stable, machine-readable.")
    message: str = Field(min_length=1, description="For humans; names the field or parameter.")


class ErrorBody(_Body):
    """Every error the handler answers with."""

    error: ErrorDetail


class GatewayErrorBody(_Body):
    """What API Gateway itself answers when it refuses a request before the handler runs
    (missing credentials 401, denied or badly signed 403)."""

    message: str

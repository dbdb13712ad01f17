"""Ports: what the domain needs from the outside world, as structural interfaces.

Adapters for AWS live in ``processor.adapters`` (S3 and DynamoDB through injected boto3
clients); in-memory adapters for tests and local runs live in ``processor.adapters.memory``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Protocol

from processor.domain.model import TradeRecord


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """An S3 object named by an event (the key already URL-decoded)."""

    bucket: str
    key: str
    version_id: str | None = None


class Readable(Protocol):
    """A binary stream that can be read in bounded chunks."""

    def read(self, size: int, /) -> bytes: ...


class ObjectSource(Protocol):
    def open(
        self, ref: ObjectRef, *, start: int = 0, etag: str | None = None
    ) -> AbstractContextManager[Readable]:
        """Open the object for streaming, from byte ``start`` on (a ranged read).

        With ``etag``, only that exact content is read (a replaced object is reported as not
        found rather than mixed with the parts already processed). The returned stream has
        an ``etag`` attribute (str or None): the ETag of what is being read. Raises
        ``ObjectNotFoundError`` if it does not exist (or no longer has that ETag) and
        ``DependencyError`` for any other failure (also from ``read`` on the stream).
        """
        ...


class TradeRepository(Protocol):
    def existing_hashes(self, trade_ids: Collection[str]) -> Mapping[str, str | None]:
        """For each of the ids that is stored: its record_hash (None if it has none).

        Reads are strongly consistent. Raises ``DependencyError``.
        """
        ...

    def insert_new(self, records: Sequence[TradeRecord]) -> Mapping[str, str | None]:
        """Store each record only if no item with its trade_id exists (never overwrite).

        ``records`` have distinct trade_ids. Returns the trade_ids that already existed
        (so were not written), each with the stored record_hash (None if unknown); every
        other record was written. Raises ``DependencyError``.
        """
        ...


class ContinuationSink(Protocol):
    def send(self, event: Mapping[str, object]) -> None:
        """Hand a continuation event to a new invocation (asynchronously).

        Raises ``DependencyError`` if it could not be handed over.
        """
        ...


class QuarantineSink(Protocol):
    def put(self, bucket: str, key: str, body: IO[bytes], length: int) -> None:
        """Store ``length`` bytes read from ``body`` as one object. Raises ``DependencyError``."""
        ...

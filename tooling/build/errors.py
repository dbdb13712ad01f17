"""The one error the Lambda build raises."""

from __future__ import annotations

__all__ = ["BuildError"]


class BuildError(Exception):
    """A Lambda build failed; the message says what to change."""

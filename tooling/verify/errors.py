"""The error of ``./tap verify``: the message to show and the task's exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tooling.verify.results import VerifyResult

__all__ = ["CheckFailedError", "VerifyError", "describe_error"]


class VerifyError(RuntimeError):
    """The deployment could not be verified (1: a check failed; 2: it could not start, e.g. the
    outputs lack what the checks need); ``code`` is the task's exit code, ``result`` the run's
    result when it ran."""

    def __init__(self, message: str, code: int = 1, *, result: VerifyResult | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.result = result


class CheckFailedError(Exception):
    """A check's verdict: the message says what was wrong."""


def describe_error(error: BaseException) -> str:
    """An error as a report shows it: the messages of the tooling's own errors, of botocore
    (which name the call) and of the network as they are, anything else with its type."""
    from botocore.exceptions import BotoCoreError, ClientError

    from tooling.upload.errors import UploadError

    known = (CheckFailedError, VerifyError, UploadError, ClientError, BotoCoreError, OSError)
    if isinstance(error, known):
        return str(error)
    return f"{type(error).__name__}: {error}"

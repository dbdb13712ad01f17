"""The emulator's credentials: the one place they are written (clients, servers, workers).

moto accepts any credentials; these are the values its documentation uses, never valid on AWS.
Secret scanning exempts this file for this value (security/accepted-findings.toml).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FAKE_CREDENTIALS", "FakeCredentials"]


@dataclass(frozen=True)
class FakeCredentials:
    """Credentials for the emulator. moto accepts any; these are the values its docs use."""

    access_key_id: str
    secret_access_key: str
    session_token: str


#: moto's documented fake credentials ("testing"): not a secret, never valid on AWS. Secret
#: scanning exempts this constant by name.
FAKE_CREDENTIALS = FakeCredentials(
    access_key_id="testing",
    secret_access_key="testing",  # noqa: S106 - moto's documented fake value, not a secret
    session_token="testing",  # noqa: S106 - moto's documented fake value, not a secret
)

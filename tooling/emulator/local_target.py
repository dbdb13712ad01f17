"""The local target as its clients see it: the environment and the provider configuration that
point AWS SDKs, the aws CLI and terraform at a running emulator.

:data:`FAKE_CREDENTIALS` (:mod:`tooling.emulator.credentials`), :func:`local_aws_env` (boto3,
terraform's S3 backend), :func:`local_process_env` (the whole environment of a subprocess,
without the developer's AWS profile) and :func:`local_provider_config` (arguments of the
Terraform aws provider, with an endpoint for each of :data:`PROVIDER_ENDPOINT_SERVICES`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from trading_infra.target import EMULATED_SERVICES, emulator_endpoints

from tooling.emulator.credentials import FAKE_CREDENTIALS
from tooling.emulator.record import Emulator

__all__ = [
    "DEFAULT_REGION",
    "MOTO_ACCOUNT_ID",
    "PROVIDER_ENDPOINT_SERVICES",
    "local_aws_env",
    "local_process_env",
    "local_provider_config",
]

#: Region of the local target unless a caller names another.
DEFAULT_REGION: Final = "us-east-1"
#: The account every moto resource belongs to (moto's default).
MOTO_ACCOUNT_ID: Final = "123456789012"

#: Argument names of the aws provider's (5.100.0) ``endpoints`` block that the local target
#: points at the emulator: the one list of :mod:`trading_infra.target`, which the synthesized
#: stacks use too (``logs`` is the canonical name; ``cloudwatchlogs`` is its alias).
PROVIDER_ENDPOINT_SERVICES: tuple[str, ...] = EMULATED_SERVICES

#: Variables that would make a client use something other than the emulator and the fake
#: credentials (a profile, a role, an SSO session, service-specific endpoints).
_FOREIGN_AWS_VARIABLES: Final = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def local_aws_env(emulator: Emulator, *, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Variables that point AWS SDKs, the aws CLI and terraform's S3 backend at the emulator.

    Sets the endpoint (``AWS_ENDPOINT_URL``), the fake credentials (including a session token,
    so an inherited real one is never sent along), both region variables (so nothing depends on
    whether the caller had a region set) and disables the EC2 instance metadata lookup.
    """
    return {
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS.access_key_id,
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS.secret_access_key,
        "AWS_SESSION_TOKEN": FAKE_CREDENTIALS.session_token,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def local_process_env(
    emulator: Emulator,
    base: Mapping[str, str] | None = None,
    *,
    region: str = DEFAULT_REGION,
) -> dict[str, str]:
    """A subprocess environment for the local target: ``base`` (default ``os.environ``) without
    the developer's AWS profile, role or per-service endpoints, the shared AWS config and
    credentials files replaced by empty ones, plus :func:`local_aws_env`."""
    source = os.environ if base is None else base
    env = {
        name: value
        for name, value in source.items()
        if name not in _FOREIGN_AWS_VARIABLES and not name.startswith("AWS_ENDPOINT_URL_")
    }
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    env.update(local_aws_env(emulator, region=region))
    return env


def local_provider_config(emulator: Emulator, *, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """Arguments of the aws provider for the local target (Terraform JSON names).

    Credentials come from the environment (:func:`local_aws_env`), not from the configuration.
    ``skip_requesting_account_id`` is deliberately left false: the provider then learns the
    account from the emulator's STS, which it needs to read same-account security group
    references as plain ids (docs/emulator.md, gap 4; see :mod:`tooling.emulator.patches.ec2`).
    """
    return {
        "region": region,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "s3_use_path_style": True,
        "endpoints": [emulator_endpoints(emulator.endpoint)],
    }

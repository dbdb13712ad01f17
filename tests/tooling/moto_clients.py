"""Shared pieces of the launcher-patch tests: boto3 clients of the in-process moto server (the
``endpoint`` fixture of conftest.py) with moto's fake credentials, and patch selection by name."""

from __future__ import annotations

from typing import Any

import boto3
import requests

from tooling.emulator.process import FAKE_CREDENTIALS
from tooling.moto_launcher import PATCHES, CompatPatch


def reset_moto(endpoint: str) -> None:
    """Reset every backend (all services, all regions) of the moto server at ``endpoint``."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()


def client(endpoint: str, service: str, *, region: str, reset: bool) -> Any:
    """A boto3 client of ``service`` in ``region`` on the moto server at ``endpoint``, with
    moto's fake credentials; with ``reset``, the server is reset first."""
    if reset:
        reset_moto(endpoint)
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=FAKE_CREDENTIALS.access_key_id,
        aws_secret_access_key=FAKE_CREDENTIALS.secret_access_key,
    )


def create_regional_domain_name(apigw: Any, domain_name: str, *, region: str, account: str) -> None:
    """An API Gateway v2 custom domain name as the platform declares it (REGIONAL, TLS 1.2)."""
    apigw.create_domain_name(
        DomainName=domain_name,
        DomainNameConfigurations=[
            {
                "CertificateArn": f"arn:aws:acm:{region}:{account}:certificate/example",
                "EndpointType": "REGIONAL",
                "SecurityPolicy": "TLS_1_2",
            }
        ],
    )


def named(*names: str) -> list[CompatPatch]:
    """The patches of ``tooling.moto_launcher.PATCHES`` called ``names``, in that order; each
    name must name exactly one patch."""
    selected = []
    for name in names:
        matches = [patch for patch in PATCHES if patch.name == name]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} patches are named {name!r}")
        selected.extend(matches)
    return selected

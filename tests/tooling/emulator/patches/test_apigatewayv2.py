"""tooling.emulator.patches.apigatewayv2: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 3: a
custom domain name has no status, and no target for the Route 53 alias)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tooling.emulator.conftest import client, named
from tooling.emulator.patches import patched
from tooling.emulator.patches.apigatewayv2 import APIGATEWAY_REGIONAL_HOSTED_ZONES

pytestmark = pytest.mark.moto

ACCOUNT = "123456789012"


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


# --------------------------------------------------------------------------- status


def _create_domain_name(endpoint: str) -> tuple[Any, dict[str, Any]]:
    region = "ap-southeast-1"
    apigw = client(endpoint, "apigatewayv2", region=region, reset=True)
    create_regional_domain_name(apigw, "api.example.com", region=region, account=ACCOUNT)
    domain: dict[str, Any] = apigw.get_domain_name(DomainName="api.example.com")
    return apigw, domain


def test_gap3_unpatched_moto_has_no_domain_name_status(endpoint: str) -> None:
    _, domain = _create_domain_name(endpoint)
    (configuration,) = domain["DomainNameConfigurations"]
    assert "DomainNameStatus" not in configuration
    assert domain["MutualTlsAuthentication"] == {}  # AWS returns none: a perpetual diff


def test_gap3_patch_reports_available_domain_names(endpoint: str) -> None:
    with patched(named("apigatewayv2-domain-name-status")):
        apigw, domain = _create_domain_name(endpoint)
        (configuration,) = domain["DomainNameConfigurations"]
        assert configuration["DomainNameStatus"] == "AVAILABLE"
        assert configuration["EndpointType"] == "REGIONAL"
        assert "MutualTlsAuthentication" not in domain
        listed = apigw.get_domain_names()["Items"]
        assert listed[0]["DomainNameConfigurations"][0]["DomainNameStatus"] == "AVAILABLE"


# --------------------------------------------------------------------------- target


def _domain_configuration(endpoint: str) -> list[dict[str, Any]]:
    region = "us-east-2"
    apigw = client(endpoint, "apigatewayv2", region=region, reset=True)
    create_regional_domain_name(apigw, "api.trading.example.com", region=region, account=ACCOUNT)
    first = apigw.get_domain_name(DomainName="api.trading.example.com")
    second = apigw.get_domain_names()["Items"][0]
    return [first["DomainNameConfigurations"][0], second["DomainNameConfigurations"][0]]


def test_gap3_unpatched_moto_gives_no_alias_target(endpoint: str) -> None:
    configuration, _ = _domain_configuration(endpoint)
    assert "ApiGatewayDomainName" not in configuration
    assert "HostedZoneId" not in configuration


def test_gap3_patch_gives_a_stable_regional_alias_target(endpoint: str) -> None:
    with patched(named("apigatewayv2-domain-name-target")):
        got, listed = _domain_configuration(endpoint)
    assert got["ApiGatewayDomainName"] == listed["ApiGatewayDomainName"]
    assert got["ApiGatewayDomainName"].startswith("d-")
    assert got["ApiGatewayDomainName"].endswith(".execute-api.us-east-2.amazonaws.com")
    assert got["HostedZoneId"] == APIGATEWAY_REGIONAL_HOSTED_ZONES["us-east-2"] == "ZOJJZC49E0EPZ"
    assert got["CertificateArn"].endswith("certificate/example")


# --------------------------------------------------------------------------- reversibility


def test_the_apigatewayv2_patches_are_undone() -> None:
    from moto.apigatewayv2.models import DomainName

    from tooling.emulator.patches import apigatewayv2

    originals = {name: DomainName.__dict__[name] for name in ("__init__", "to_json")}
    with patched(apigatewayv2.PATCHES):
        assert all(DomainName.__dict__[name] is not fn for name, fn in originals.items())
    assert all(DomainName.__dict__[name] is fn for name, fn in originals.items())

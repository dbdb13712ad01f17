"""tooling.emulator.patches.apigatewayv2: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 3: a
custom domain name has no status, and no target for the Route 53 alias; rule R8: a stage name
is taken once per API)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tooling.emulator.conftest import client, named, refusal_of
from tooling.emulator.patches import patched
from tooling.emulator.patches.apigatewayv2 import APIGATEWAY_REGIONAL_HOSTED_ZONES, STAGE_EXISTS

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


# --------------------------------------------------------------------------- R8: stage names

STAGES = "apigatewayv2-stage-names-unique"


def _http_api(apigw: Any, name: str) -> str:
    """The id of a new HTTP API ``name``."""
    api_id: str = apigw.create_api(Name=name, ProtocolType="HTTP")["ApiId"]
    return api_id


def _stage_variables(apigw: Any, api_id: str) -> dict[str, dict[str, str]]:
    """Each stage of the API -> its stage variables."""
    return {
        stage["StageName"]: stage.get("StageVariables", {})
        for stage in apigw.get_stages(ApiId=api_id)["Items"]
    }


def test_r8_unpatched_moto_replaces_a_stage_with_a_second_of_its_name(endpoint: str) -> None:
    apigw = client(endpoint, "apigatewayv2", region="ap-southeast-1", reset=True)
    api_id = _http_api(apigw, "trading")
    apigw.create_stage(ApiId=api_id, StageName="dev", StageVariables={"table": "trades"})
    second = apigw.create_stage(ApiId=api_id, StageName="dev", StageVariables={"table": "other"})
    assert second["StageName"] == "dev"
    assert _stage_variables(apigw, api_id) == {"dev": {"table": "other"}}


def test_r8_patch_refuses_a_second_stage_of_the_same_name(endpoint: str) -> None:
    with patched(named(STAGES)):
        apigw = client(endpoint, "apigatewayv2", region="ap-southeast-1", reset=True)
        api_id = _http_api(apigw, "trading")
        apigw.create_stage(ApiId=api_id, StageName="dev", StageVariables={"table": "trades"})
        refusal = refusal_of(
            apigw.create_stage, ApiId=api_id, StageName="dev", StageVariables={"table": "other"}
        )
        stages = _stage_variables(apigw, api_id)
    assert refusal == (409, {"Code": "ConflictException", "Message": STAGE_EXISTS})
    assert STAGE_EXISTS == "Stage already exists"
    assert stages == {"dev": {"table": "trades"}}  # the first stage is left as it was


def test_r8_patch_creates_other_names_and_the_same_name_on_another_api(endpoint: str) -> None:
    with patched(named(STAGES)):
        apigw = client(endpoint, "apigatewayv2", region="ap-southeast-1", reset=True)
        first, second = _http_api(apigw, "trading"), _http_api(apigw, "reporting")
        apigw.create_stage(ApiId=first, StageName="dev")
        apigw.create_stage(ApiId=first, StageName="prod")
        apigw.create_stage(ApiId=second, StageName="dev")
        apigw.delete_stage(ApiId=first, StageName="prod")
        apigw.create_stage(ApiId=first, StageName="prod")  # a deleted stage's name is free
        stages = {api: sorted(_stage_variables(apigw, api)) for api in (first, second)}
    assert stages == {first: ["dev", "prod"], second: ["dev"]}


def test_r8_patch_answers_a_missing_api_before_its_stage_names(endpoint: str) -> None:
    with patched(named(STAGES)):
        apigw = client(endpoint, "apigatewayv2", region="ap-southeast-1", reset=True)
        status, error = refusal_of(apigw.create_stage, ApiId="missing", StageName="dev")
    assert (status, error["Code"]) == (404, "NotFoundException")


# --------------------------------------------------------------------------- reversibility


def test_the_apigatewayv2_patches_are_undone() -> None:
    from moto.apigatewayv2.models import Api, DomainName

    from tooling.emulator.patches import apigatewayv2

    replaced = [(DomainName, "__init__"), (DomainName, "to_json"), (Api, "create_stage")]
    originals = {(owner, name): owner.__dict__[name] for owner, name in replaced}
    with patched(apigatewayv2.PATCHES):
        assert all(owner.__dict__[name] is not fn for (owner, name), fn in originals.items())
    assert all(owner.__dict__[name] is fn for (owner, name), fn in originals.items())

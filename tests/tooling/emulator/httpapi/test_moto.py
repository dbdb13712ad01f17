"""``MotoApiCatalog``: HTTP APIs created through moto's API Gateway v2 control plane (as
Terraform creates them) are found by id and served."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from werkzeug.test import Client

from tests.tooling.emulator.httpapi.support import FakeInvoker
from tooling.emulator.httpapi import HttpApiGateway, MotoApiCatalog, stage_url
from tooling.emulator.process import FAKE_CREDENTIALS

pytestmark = pytest.mark.moto

REGION = "eu-west-2"
ACCOUNT = "123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tap-dev-api"


@pytest.fixture
def apigw() -> Iterator[Any]:
    """An API Gateway v2 client of moto's in-process mock."""
    with mock_aws():
        yield boto3.client(
            "apigatewayv2",
            region_name=REGION,
            aws_access_key_id=FAKE_CREDENTIALS.access_key_id,
            aws_secret_access_key=FAKE_CREDENTIALS.secret_access_key,
        )


def _deploy(apigw: Any) -> str:
    """An HTTP API as the platform declares it: a Lambda proxy route and a ``dev`` stage."""
    api_id: str = apigw.create_api(Name="tap-dev", ProtocolType="HTTP")["ApiId"]
    integration = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=FUNCTION_ARN,
        PayloadFormatVersion="2.0",
        TimeoutInMillis=29_000,
    )
    apigw.create_route(
        ApiId=api_id,
        RouteKey="GET /trades/{trade_id}",
        Target=f"integrations/{integration['IntegrationId']}",
    )
    apigw.create_stage(ApiId=api_id, StageName="dev", StageVariables={"table": "trades"})
    return api_id


def test_the_catalog_finds_an_api_created_through_moto(apigw: Any) -> None:
    api_id = _deploy(apigw)

    api = MotoApiCatalog().find(api_id)

    assert api is not None
    assert (api.region, api.account_id, [s.name for s in api.stages]) == (REGION, ACCOUNT, ["dev"])
    assert [r.route_key for r in api.routes] == ["GET /trades/{trade_id}"]
    (integration,) = api.integrations.values()
    assert (integration.integration_uri, integration.timeout_in_millis) == (FUNCTION_ARN, 29_000)


def test_the_catalog_does_not_know_other_ids(apigw: Any) -> None:
    _deploy(apigw)

    assert MotoApiCatalog().find("nosuchapi") is None


def test_the_catalog_reads_authorizers(apigw: Any) -> None:
    api_id = _deploy(apigw)
    apigw.create_authorizer(
        ApiId=api_id,
        AuthorizerType="REQUEST",
        AuthorizerUri=FUNCTION_ARN,
        IdentitySource=["$request.header.Authorization"],
        AuthorizerPayloadFormatVersion="2.0",
        AuthorizerResultTtlInSeconds=60,
        EnableSimpleResponses=True,
        Name="tap-dev-authorizer",
    )

    api = MotoApiCatalog().find(api_id)

    assert api is not None
    (authorizer,) = api.authorizers.values()
    assert (
        authorizer.identity_source,
        authorizer.result_ttl_seconds,
        authorizer.enable_simple_responses,
    ) == (("$request.header.Authorization",), 60, True)


def test_a_request_to_an_api_in_moto_is_routed_to_its_function(apigw: Any) -> None:
    api_id = _deploy(apigw)
    invoker = FakeInvoker()
    client = Client(HttpApiGateway(MotoApiCatalog(), invoker))

    url = stage_url("http://localhost", api_id, "dev")
    response = client.get(f"{url.removeprefix('http://localhost')}/trades/T-1")

    assert response.get_data(as_text=True) == "GET /trades/{trade_id}"
    (arn, event), *_ = invoker.calls
    assert (arn, event["pathParameters"], event["stageVariables"]) == (
        FUNCTION_ARN,
        {"trade_id": "T-1"},
        {"table": "trades"},
    )

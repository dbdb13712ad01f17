"""Compatibility patches of moto's API Gateway v2: custom domain names, stage names."""

from __future__ import annotations

import functools
import string
from collections.abc import Callable
from typing import Any

from tooling.emulator.patches.base import CompatPatch, Undo, compat_patch, replace

__all__ = [
    "APIGATEWAY_REGIONAL_HOSTED_ZONES",
    "PATCHES",
    "STAGE_EXISTS",
    "domain_name_status",
    "domain_name_target",
    "stage_names_unique",
]

#: API Gateway's hosted zone of regional custom domain names, per region (AWS General Reference,
#: "Amazon API Gateway endpoints and quotas"); Route 53 alias records point into it.
APIGATEWAY_REGIONAL_HOSTED_ZONES: dict[str, str] = {
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MOQ6GLJ5IR6Y",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
    "ap-southeast-1": "ZL327KTPIQFUL",
    "ap-southeast-2": "Z2RPCDW04V8134",
    "ap-northeast-1": "Z1YSHQZHG15GKL",
}


@compat_patch("apigatewayv2-domain-name-status", gap="3")
def domain_name_status() -> Undo:
    """docs/emulator.md, gap 3: API Gateway v2 custom domain names answer like AWS.

    moto's ``moto.apigatewayv2.models.DomainName.to_json`` (the body of CreateDomainName,
    GetDomainName, GetDomainNames) returns the ``domainNameConfigurations`` exactly as they were
    sent, without ``domainNameStatus``: the provider waits for ``AVAILABLE`` and fails with
    "unexpected state '', wanted target 'AVAILABLE'". It also returns
    ``"mutualTlsAuthentication": {}`` when none was configured, where AWS returns nothing, so
    ``aws_apigatewayv2_domain_name`` shows ``- mutual_tls_authentication {}`` on every plan.
    The patch adds ``"domainNameStatus": "AVAILABLE"`` to each configuration without a status and
    leaves out an empty ``mutualTlsAuthentication``, in the response only (the stored domain name
    is not changed).
    """
    from moto.apigatewayv2.models import DomainName

    def make_to_json(original: Callable[[DomainName], dict[str, Any]]) -> Callable[..., Any]:
        @functools.wraps(original)
        def to_json(self: DomainName) -> dict[str, Any]:
            body = original(self)
            body["domainNameConfigurations"] = [
                {"domainNameStatus": "AVAILABLE", **configuration}
                for configuration in body.get("domainNameConfigurations") or []
            ]
            if not body.get("mutualTlsAuthentication"):
                body.pop("mutualTlsAuthentication", None)
            return body

        return to_json

    return replace(DomainName, "to_json", make_to_json)


@compat_patch("apigatewayv2-domain-name-target", gap="3")
def domain_name_target() -> Undo:
    """docs/emulator.md, gap 3: a custom domain name
    has no target to point DNS at.

    For every configuration of a custom domain name, AWS assigns the API Gateway domain name
    that serves it (``apiGatewayDomainName``, ``d-<id>.execute-api.<region>.amazonaws.com``)
    and the hosted zone of that name (``hostedZoneId``, fixed per region): what a Route 53
    alias record points at. moto's ``moto.apigatewayv2.models.DomainName`` keeps the
    configurations exactly as they were sent, so ``aws_route53_record`` with an alias to
    ``domain_name_configuration[0].target_domain_name`` / ``hosted_zone_id`` fails ("expected
    length of alias.0.name to be in the range (1 - 1024), got "). The patch fills in both when
    the domain name is created, unless the configuration has them, from moto's random source
    (``/moto-api/seed`` makes it reproducible) and :data:`APIGATEWAY_REGIONAL_HOSTED_ZONES`.
    """
    from moto.apigatewayv2.models import DomainName
    from moto.moto_api._internal import mock_random

    alphabet = string.ascii_lowercase + string.digits

    def make_init(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def __init__(self: DomainName, *args: Any, **kwargs: Any) -> None:  # noqa: N807
            original(self, *args, **kwargs)
            region = self.domain_name_arn.split(":")[3]
            zone = APIGATEWAY_REGIONAL_HOSTED_ZONES.get(region, "ZLOCALAPIGATEWAY")
            configurations = []
            for configuration in self.domain_name_configurations or []:
                if not configuration.get("apiGatewayDomainName"):
                    identifier = "".join(mock_random.choice(alphabet) for _ in range(10))
                    target = f"d-{identifier}.execute-api.{region}.amazonaws.com"
                    configuration = {**configuration, "apiGatewayDomainName": target}
                configurations.append({"hostedZoneId": zone, **configuration})
            self.domain_name_configurations = configurations

        return __init__

    return replace(DomainName, "__init__", make_init)


#: API Gateway's message with the 409 ConflictException of CreateStage for a stage name the API
#: already has: the one REST APIs answer, as the provider reports it
#: (https://github.com/hashicorp/terraform-provider-aws/issues/30256); the v2 reference documents
#: the code alone.
STAGE_EXISTS = "Stage already exists"


@compat_patch("apigatewayv2-stage-names-unique", gap="R8")
def stage_names_unique() -> Undo:
    """docs/emulator.md, gap R8: API Gateway v2 refuses a second stage of the same name.

    A stage is named by its API and its ``stageName`` (GetStage, UpdateStage and DeleteStage
    find it by that name alone), and CreateStage of a name the API already has answers 409
    ``ConflictException``, "The resource already exists."
    (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages.html, POST,
    Responses). The reference gives no message; the patch sends :data:`STAGE_EXISTS`, API
    Gateway's message for a stage name a REST API already has. moto's
    ``Api.create_stage`` stores the new stage under its name, replacing the stage there, and
    answers 200: two ``aws_apigatewayv2_stage`` of one name on one API both deploy locally, the
    second silently replacing the first. The patch refuses, before moto stores anything, a
    name the API already has; a new name on the same API, and the same name on another API,
    are created as before. An API that does not exist still answers NotFoundException first.
    """
    from moto.apigatewayv2.exceptions import APIGatewayV2Error
    from moto.apigatewayv2.models import Api, Stage

    class StageAlreadyExistsError(APIGatewayV2Error):
        code = 409

        def __init__(self) -> None:
            super().__init__("ConflictException", STAGE_EXISTS)

    def make_create_stage(
        original: Callable[[Api, dict[str, Any]], Stage],
    ) -> Callable[[Api, dict[str, Any]], Stage]:
        @functools.wraps(original)
        def create_stage(self: Api, config: dict[str, Any]) -> Stage:
            if config.get("stageName") in self.stages:
                raise StageAlreadyExistsError
            return original(self, config)

        return create_stage

    return replace(Api, "create_stage", make_create_stage)


#: API Gateway v2's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (domain_name_status, domain_name_target, stage_names_unique)

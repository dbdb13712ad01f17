"""The API's custom domain in one region, and its latency-based record in the shared zone.

Every region of a deployment serves the same name (``api.<zone>``) with its own certificate;
Route 53 answers each client with the nearest region whose health check passes.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
from cdktf_cdktf_provider_aws.acm_certificate_validation import AcmCertificateValidation
from cdktf_cdktf_provider_aws.apigatewayv2_api import Apigatewayv2Api
from cdktf_cdktf_provider_aws.apigatewayv2_api_mapping import Apigatewayv2ApiMapping
from cdktf_cdktf_provider_aws.apigatewayv2_domain_name import Apigatewayv2DomainName
from cdktf_cdktf_provider_aws.apigatewayv2_stage import Apigatewayv2Stage
from cdktf_cdktf_provider_aws.data_aws_route53_zone import DataAwsRoute53Zone
from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck
from cdktf_cdktf_provider_aws.route53_record import Route53Record
from constructs import Construct

from trading_infra.config import DnsConfig
from trading_infra.context import RegionContext

HEALTH_CHECK_INTERVAL_SECONDS = 30
HEALTH_CHECK_FAILURE_THRESHOLD = 3
VALIDATION_RECORD_TTL_SECONDS = 300


class ApiCustomDomain(Construct):
    """Regional custom domain + API mapping + health check + latency alias record.

    Attributes:
        domain_name, certificate_arn, health_check.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        context: RegionContext,
        dns: DnsConfig,
        api: Apigatewayv2Api,
        stage: Apigatewayv2Stage,
    ) -> None:
        super().__init__(scope, id_)
        region = context.region.name
        zone = DataAwsRoute53Zone(self, "Zone", name=dns.zone_name, private_zone=False)
        self.certificate_arn = context.region.certificate_arn or self._certificate(dns, zone)
        self.domain_name = Apigatewayv2DomainName(
            self,
            "DomainName",
            domain_name=dns.api_domain,
            domain_name_configuration={
                "certificate_arn": self.certificate_arn,
                "endpoint_type": "REGIONAL",
                "security_policy": "TLS_1_2",
            },
        )
        Apigatewayv2ApiMapping(
            self, "ApiMapping", api_id=api.id, domain_name=self.domain_name.id, stage=stage.id
        )
        self.health_check = Route53HealthCheck(
            self,
            "HealthCheck",
            type="HTTPS",
            fqdn=f"{api.id}.execute-api.{region}.amazonaws.com",
            port=443,
            resource_path=f"/{stage.name}{dns.health_check_path}",
            request_interval=HEALTH_CHECK_INTERVAL_SECONDS,
            failure_threshold=HEALTH_CHECK_FAILURE_THRESHOLD,
            tags={"Name": context.namer.name("api-health", regional=True)},
        )
        target = self.domain_name.domain_name_configuration
        Route53Record(
            self,
            "LatencyRecord",
            zone_id=zone.zone_id,
            name=dns.api_domain,
            type="A",
            set_identifier=region,
            latency_routing_policy={"region": region},
            health_check_id=self.health_check.id,
            alias={
                "name": target.target_domain_name,
                "zone_id": target.hosted_zone_id,
                "evaluate_target_health": True,
            },
        )

    def _certificate(self, dns: DnsConfig, zone: DataAwsRoute53Zone) -> str:
        """Request a regional certificate for the API name, validated through the zone."""
        certificate = AcmCertificate(
            self,
            "Certificate",
            domain_name=dns.api_domain,
            validation_method="DNS",
            lifecycle={"create_before_destroy": True},
        )
        option = certificate.domain_validation_options.get(0)
        # ACM asks for the same validation record in every region: each regional stack may
        # write it, none owns it exclusively.
        record = Route53Record(
            self,
            "CertificateValidationRecord",
            zone_id=zone.zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=VALIDATION_RECORD_TTL_SECONDS,
            allow_overwrite=True,
        )
        validation = AcmCertificateValidation(
            self,
            "CertificateValidation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
        )
        return validation.certificate_arn

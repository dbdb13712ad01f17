"""The API's custom domain in one region, and its latency-based record in the shared zone.

Every region of a deployment serves the same name (``api.<zone>``) with its own certificate;
Route 53 answers each client with the nearest region whose health check passes.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class ApiCustomDomainProps:
    """The custom domain ``dns`` of ``api``'s ``stage`` in the context's region."""

    context: RegionContext
    dns: DnsConfig
    api: Apigatewayv2Api
    stage: Apigatewayv2Stage


class ApiCustomDomain(Construct):
    """Regional custom domain + API mapping + health check + latency alias record.

    Attributes:
        domain_name, certificate_arn, health_check.
    """

    def __init__(self, scope: Construct, id_: str, *, props: ApiCustomDomainProps) -> None:
        super().__init__(scope, id_)
        context, dns, api, stage = props.context, props.dns, props.api, props.stage
        region = context.region.name
        zone = DataAwsRoute53Zone(self, "Zone", name=dns.zone_name, private_zone=False)
        self.certificate_arn = context.region.certificate_arn or self._certificate(
            context, dns, zone
        )
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

    def _certificate(self, context: RegionContext, dns: DnsConfig, zone: DataAwsRoute53Zone) -> str:
        """Request a regional certificate for the API name, validated through the zone.

        ACM's validation CNAME is "created specifically for your domain and your account", and
        "since the CNAME validation token works for any AWS Region, you can re-create the same
        certificate in multiple Regions"; ACM renews a certificate "as long as the certificate
        is in use and your CNAME record remains in place"
        (https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html). So every region
        asks for the same record, and exactly one stack manages it: the primary region's
        application stack. Were each region to write it, destroying one region would delete
        the record the others' certificates are validated and renewed with. The other regions
        wait for their certificate's validation through the same record without managing it;
        their stacks deploy after the primary's (they read its state) and are destroyed before
        it. Every region names the record in ``validation_record_fqdns`` the same way, from its
        own certificate's validation option (the provider checks the names against the
        certificate's), so the regions' stacks differ by the record alone
        (``invoke drift --static``).
        """
        certificate = AcmCertificate(
            self,
            "Certificate",
            domain_name=dns.api_domain,
            validation_method="DNS",
            lifecycle={"create_before_destroy": True},
        )
        option = certificate.domain_validation_options.get(0)
        if context.environment.is_primary(context.region):
            Route53Record(
                self,
                "CertificateValidationRecord",
                zone_id=zone.zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=VALIDATION_RECORD_TTL_SECONDS,
                # A record written before one stack owned it is adopted, not refused.
                allow_overwrite=True,
            )
        validation = AcmCertificateValidation(
            self,
            "CertificateValidation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[option.resource_record_name],
        )
        return validation.certificate_arn

"""Preflight: the service quotas one region of an environment needs, against what is left.

Each quota is read with Service Quotas (GetServiceQuota: the value applied to the account;
GetAWSDefaultServiceQuota when none is applied); when Service Quotas does not answer (no
permission, or an endpoint that does not implement it) the documented default is used and the
check says so. What is already in use is read where an API shows it (VPCs, Elastic IPs, the
unreserved Lambda concurrency) and compared with what the synthesized stacks create.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tooling.lifecycle.preflight.base import Account, Check, error_code
from tooling.lifecycle.preflight.needs import RegionNeeds

__all__ = [
    "ELASTIC_IPS",
    "INTERFACE_ENDPOINTS",
    "LAMBDA_CONCURRENCY",
    "VPCS",
    "Quota",
    "quota_checks",
    "quota_value",
]


@dataclass(frozen=True)
class Quota:
    """A service quota: its Service Quotas codes (as the Service Quotas console and
    ListAWSDefaultServiceQuotas name them), its name, and its default as the service's quota
    page documents it (``documented``), used when Service Quotas does not answer."""

    service_code: str
    quota_code: str
    name: str
    default: int
    documented: str

    def increase(self, value: int, region: str) -> str:
        """The command that asks for ``value`` of this quota in ``region``."""
        return (
            f"aws service-quotas request-service-quota-increase --region {region} "
            f"--service-code {self.service_code} --quota-code {self.quota_code} "
            f"--desired-value {value}"
        )


LAMBDA_CONCURRENCY = Quota(
    "lambda",
    "L-B99A9384",
    "Concurrent executions",
    1000,
    "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
)
VPCS = Quota(
    "vpc",
    "L-F678F1CE",
    "VPCs per Region",
    5,
    "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html",
)
INTERFACE_ENDPOINTS = Quota(
    "vpc",
    "L-29B6F2EB",
    "Interface VPC endpoints per VPC",
    50,
    "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-limits-endpoints.html",
)
ELASTIC_IPS = Quota(
    "ec2",
    "L-0263D0A3",
    "EC2-VPC Elastic IPs",
    5,
    "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html",
)

#: Concurrency Lambda keeps unreserved for the functions without a reservation: "You can
#: reserve up to the Unreserved account concurrency value that is shown, minus 100"
#: (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
UNRESERVED_MINIMUM = 100


def quota_value(service_quotas: Any, quota: Quota) -> tuple[int, str]:
    """The quota's value and where it comes from (applied, AWS default, or documented)."""
    from botocore.exceptions import BotoCoreError, ClientError

    codes = {"ServiceCode": quota.service_code, "QuotaCode": quota.quota_code}
    try:
        return int(service_quotas.get_service_quota(**codes)["Quota"]["Value"]), "applied quota"
    except ClientError as error:
        if error_code(error) != "NoSuchResourceException":
            return quota.default, "documented default"
    except BotoCoreError:
        return quota.default, "documented default"
    try:
        answer = service_quotas.get_aws_default_service_quota(**codes)
        return int(answer["Quota"]["Value"]), "AWS default"
    except (BotoCoreError, ClientError):
        return quota.default, "documented default"


def _name_tag(item: dict[str, Any]) -> str:
    return next((t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"), "")


def quota_checks(account: Account, needs: RegionNeeds) -> list[Check]:
    """VPCs, interface endpoints per VPC, Lambda concurrency and Elastic IPs of one region."""
    region = needs.region
    service_quotas = account.clients("service-quotas", region)
    ec2 = account.clients("ec2", region)
    checks = []

    quota, source = quota_value(service_quotas, VPCS)
    cidrs = {str(r.vpc_cidr) for r in account.environment.regions if r.name == region}
    vpcs = ec2.describe_vpcs().get("Vpcs", [])
    others = [v for v in vpcs if not (_name_tag(v) in needs.vpcs and v["CidrBlock"] in cidrs)]
    need = len(needs.vpcs)
    checks.append(
        account.check(
            region,
            "VPCs per Region",
            len(others) + need <= quota,
            f"needs {need}, {len(others)} other VPC(s) in use, quota {quota} ({source})",
            f"delete unused VPCs of {region}, or: {VPCS.increase(len(others) + need, region)}",
        )
    )

    quota, source = quota_value(service_quotas, INTERFACE_ENDPOINTS)
    endpoints = len(needs.interface_endpoints)
    services = f" ({', '.join(needs.interface_endpoints)})" if endpoints else ""
    checks.append(
        account.check(
            region,
            "interface endpoints per VPC",
            endpoints <= quota,
            f"needs {endpoints}{services} in the new VPC, quota {quota} ({source})",
            INTERFACE_ENDPOINTS.increase(endpoints, region),
        )
    )

    checks.append(_lambda_check(account, needs, service_quotas))

    if needs.elastic_ips == 0:
        checks.append(
            account.check(region, "Elastic IPs", True, "needs none (no NAT gateway, no EIP)")
        )
    else:
        quota, source = quota_value(service_quotas, ELASTIC_IPS)
        used = len(ec2.describe_addresses().get("Addresses", []))
        checks.append(
            account.check(
                region,
                "Elastic IPs",
                used + needs.elastic_ips <= quota,
                f"needs {needs.elastic_ips}, {used} in use, quota {quota} ({source})",
                ELASTIC_IPS.increase(used + needs.elastic_ips, region),
            )
        )
    return checks


def _lambda_check(account: Account, needs: RegionNeeds, service_quotas: Any) -> Check:
    """Reserved concurrency of the stacks' functions against the account's unreserved pool."""
    from botocore.exceptions import BotoCoreError, ClientError

    region = needs.region
    try:
        limits = account.clients("lambda", region).get_account_settings()["AccountLimit"]
        unreserved = int(limits["UnreservedConcurrentExecutions"])
        elsewhere = int(limits["ConcurrentExecutions"]) - unreserved
        pool = f"{unreserved} of {limits['ConcurrentExecutions']} unreserved (GetAccountSettings)"
    except (BotoCoreError, ClientError):
        quota, source = quota_value(service_quotas, LAMBDA_CONCURRENCY)
        unreserved, elsewhere = quota, 0
        pool = f"at most {quota} unreserved ({source}; GetAccountSettings did not answer)"
    functions = len(needs.functions)
    need = needs.reserved_concurrency
    if need == 0:
        return account.check(
            region,
            "Lambda concurrency",
            True,
            f"{functions} function(s), none reserves concurrency: they share the pool, {pool}",
        )
    available = unreserved - UNRESERVED_MINIMUM
    return account.check(
        region,
        "Lambda concurrency",
        need <= available,
        f"{functions} function(s) reserve {need}; {pool}, minus the {UNRESERVED_MINIMUM} "
        f"Lambda keeps unreserved: {available}",
        LAMBDA_CONCURRENCY.increase(elsewhere + need + UNRESERVED_MINIMUM, region),
    )

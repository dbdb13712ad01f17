"""Preflight: what the account must already have and the platform does not create: the hosted
zone of ``dns.zone_name``, the database's master secret and its rotation function."""

from __future__ import annotations

import json
from typing import Any

from tooling.lifecycle.preflight.base import Account, Check, error_code

__all__ = ["RESERVED_DOMAINS", "database_checks", "dns_checks", "reserved_domain"]

GLOBAL = "global"

#: Names that can never be delegated to anyone (RFC 2606, https://www.rfc-editor.org/rfc/rfc2606;
#: RFC 6761, https://www.rfc-editor.org/rfc/rfc6761), with every name under them. A hosted zone
#: of such a name can be created but is never reached from the internet, so the DNS validation
#: of an ACM certificate for it never finishes
#: (https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html).
RESERVED_DOMAINS = (
    "example",
    "example.com",
    "example.net",
    "example.org",
    "test",
    "invalid",
    "localhost",
)

#: Who invokes a rotation function: its resource policy must allow this service principal
#: (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html,
#: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_turn-on-cli.html).
_ROTATION_PRINCIPAL = "secretsmanager.amazonaws.com"


def reserved_domain(zone_name: str) -> str | None:
    """The reserved name (:data:`RESERVED_DOMAINS`) ``zone_name`` is or is under, else None."""
    labels = zone_name.rstrip(".").lower().split(".")
    for start in range(len(labels)):
        candidate = ".".join(labels[start:])
        if candidate in RESERVED_DOMAINS:
            return candidate
    return None


def dns_checks(account: Account) -> list[Check]:
    """The API domain's zone: a name that can be delegated, with a public hosted zone here."""
    environment = account.environment
    if environment.dns is None:
        return []
    zone, name = environment.dns.zone_name, environment.name
    reserved = reserved_domain(zone)
    checks = []
    if reserved is None:
        checks.append(account.check(GLOBAL, "dns zone name", True, f"{zone} can be delegated"))
    else:
        where = "is" if reserved == zone else f"is under {reserved},"
        checks.append(
            account.check(
                GLOBAL,
                "dns zone name",
                False,
                f"{zone} {where} a name reserved by RFC 2606/6761: it is never delegated, so "
                f"the ACM DNS validation of api.{zone} would never finish",
                f'set dns = {{ zone_name = "<a domain you own>" }} in [environments.{name}] '
                "of platform.toml",
            )
        )
    wanted = zone.rstrip(".") + "."
    route53 = account.clients("route53", environment.primary_region.name)
    zones = route53.list_hosted_zones_by_name(DNSName=wanted).get("HostedZones", [])
    matching = [z for z in zones if z["Name"] == wanted]
    public = [z for z in matching if not z.get("Config", {}).get("PrivateZone", False)]
    create = (
        f"aws route53 create-hosted-zone --name {zone} --caller-reference tap-{zone}, then "
        f"delegate {zone} to the zone's name servers (NS records at its parent or registrar)"
    )
    if public:
        zone_id = str(public[0]["Id"]).rsplit("/", 1)[-1]
        checks.append(account.check(GLOBAL, "hosted zone", True, f"public zone {zone_id}"))
    else:
        found = "only a private hosted zone" if matching else "no hosted zone"
        checks.append(
            account.check(
                GLOBAL,
                "hosted zone",
                False,
                f"{found} {zone} in account {account.account_id}: the API's records need a "
                "public one",
                create,
            )
        )
    return checks


def database_checks(account: Account) -> list[Check]:
    """The existing master secret and its rotation function, in the primary region.

    Read-only: the secret's value (its "password" key) is not read, that would need
    secretsmanager:GetSecretValue; DescribeSecret shows that it exists, is not being deleted and
    which KMS key encrypts it.
    """
    database = account.environment.profile.database
    secret, function = database.master_password_secret, database.rotation_function_name
    if secret is None or function is None:
        return []
    region = account.environment.primary_region.name
    return [_secret_check(account, secret, region), *_rotation_checks(account, function, region)]


def _secret_check(account: Account, secret: str, region: str) -> Check:
    from botocore.exceptions import ClientError

    try:
        described = account.clients("secretsmanager", region).describe_secret(SecretId=secret)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        return account.check(
            region,
            "master secret",
            False,
            f"no secret {secret}",
            f"aws secretsmanager create-secret --region {region} --name {secret} "
            '--secret-string \'{"username":"tap_admin","password":"<a strong password>"}\'',
        )
    if described.get("DeletedDate"):
        return account.check(
            region,
            "master secret",
            False,
            f"{secret} is scheduled for deletion",
            f"aws secretsmanager restore-secret --region {region} --secret-id {secret}",
        )
    key = described.get("KmsKeyId")
    if not key:
        return account.check(
            region, "master secret", True, f"{secret}, encrypted with aws/secretsmanager"
        )
    state = account.clients("kms", region).describe_key(KeyId=key)["KeyMetadata"]["KeyState"]
    return account.check(
        region,
        "master secret",
        state == "Enabled",
        f"{secret}, encrypted with {key} ({state})",
        f"aws kms enable-key --region {region} --key-id {key} (cancel-key-deletion first if "
        "it is pending deletion)",
    )


def _rotation_checks(account: Account, function: str, region: str) -> list[Check]:
    from botocore.exceptions import ClientError

    aws_lambda = account.clients("lambda", region)
    permission_fix = (
        f"aws lambda add-permission --region {region} --function-name {function} "
        "--statement-id SecretsManagerRotation --action lambda:InvokeFunction "
        f"--principal {_ROTATION_PRINCIPAL} --source-account {account.account_id}"
    )
    try:
        aws_lambda.get_function(FunctionName=function)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        return [
            account.check(
                region,
                "rotation function",
                False,
                f"no function {function}",
                f"deploy the rotation function {function} in {region} (e.g. from AWS's "
                "rotation templates: https://docs.aws.amazon.com/secretsmanager/latest/"
                "userguide/reference_available-rotation-templates.html)",
            ),
            account.check(
                region,
                "rotation permission",
                False,
                f"{function} does not exist, so nothing allows {_ROTATION_PRINCIPAL} to invoke it",
                f"after creating it: {permission_fix}",
            ),
        ]
    try:
        policy = json.loads(aws_lambda.get_policy(FunctionName=function)["Policy"])
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        policy = {}
    allowed = any(
        _allows_rotation(statement, account.account_id) for statement in policy.get("Statement", [])
    )
    detail = (
        f"{_ROTATION_PRINCIPAL} may invoke {function}"
        if allowed
        else f"the resource policy of {function} does not let {_ROTATION_PRINCIPAL} invoke it"
    )
    return [
        account.check(region, "rotation function", True, f"{function} exists"),
        account.check(region, "rotation permission", allowed, detail, permission_fix),
    ]


def _allows_rotation(statement: dict[str, Any], account_id: str) -> bool:
    """Whether a function policy statement lets Secrets Manager (for this account) invoke it."""
    principal = statement.get("Principal", {})
    services = principal.get("Service", []) if isinstance(principal, dict) else []
    services = [services] if isinstance(services, str) else services
    actions = statement.get("Action", [])
    actions = [actions] if isinstance(actions, str) else actions
    conditions = {
        key.lower(): value
        for operator in (statement.get("Condition") or {}).values()
        for key, value in operator.items()
    }
    source_account = conditions.get("aws:sourceaccount", account_id)
    return (
        statement.get("Effect") == "Allow"
        and _ROTATION_PRINCIPAL in services
        and any(a in ("lambda:InvokeFunction", "lambda:*", "*") for a in actions)
        and source_account == account_id
    )

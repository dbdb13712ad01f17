"""Keys, secrets and certificates: KMS keys and aliases, Secrets Manager secrets, ACM
certificates.

KMS keys and certificates are the platform's by their tags, aliases by name, secrets by name,
tags or the RDS cluster they hold the master user of. The state keys (and their aliases) are
never leftovers: bootstrap creates them and they outlive every stack, like the state they
encrypt.
"""

from __future__ import annotations

from typing import Any

from tooling.lifecycle.resource_kinds.model import Clients, GoneError, Kind, Scan

__all__ = ["CERTIFICATE", "KMS_ALIAS", "KMS_KEY", "KMS_PENDING_WINDOW_DAYS", "SECRET"]

#: The shortest deletion window of a KMS key AWS allows.
KMS_PENDING_WINDOW_DAYS = 7


def _aliases(scan: Scan, region: str) -> list[dict[str, Any]]:
    def listing() -> list[dict[str, Any]]:
        return list(scan.clients("kms", region).list_aliases()["Aliases"])

    return scan.once("kms aliases", region, listing)


def _kms_keys(scan: Scan, region: str) -> list[str]:
    """Customer managed keys with the platform's tags, not pending deletion, not a state key."""
    kms = scan.clients("kms", region)
    state_aliases = scan.owner.spec.kms_aliases
    state_keys = {
        a.get("TargetKeyId") for a in _aliases(scan, region) if a["AliasName"] in state_aliases
    }
    found = []
    for key in kms.list_keys()["Keys"]:
        if key["KeyId"] in state_keys:
            continue
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta.get("KeyManager") != "CUSTOMER" or meta["KeyState"] == "PendingDeletion":
            continue
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        if scan.owner.tagged(tags, key="TagKey", value="TagValue"):
            found.append(key["KeyId"])
    return found


def _kms_aliases(scan: Scan, region: str) -> list[str]:
    state_aliases = scan.owner.spec.kms_aliases
    return [
        alias["AliasName"]
        for alias in _aliases(scan, region)
        if alias["AliasName"] not in state_aliases
        and scan.owner.named(alias["AliasName"].removeprefix("alias/"))
    ]


def _delete_kms_alias(clients: Clients, region: str, name: str) -> str:
    clients("kms", region).delete_alias(AliasName=name)
    return "deleted"


def _delete_kms_key(clients: Clients, region: str, name: str) -> str:
    kms = clients("kms", region)
    if kms.describe_key(KeyId=name)["KeyMetadata"]["KeyState"] == "PendingDeletion":
        return "already scheduled for deletion"
    kms.schedule_key_deletion(KeyId=name, PendingWindowInDays=KMS_PENDING_WINDOW_DAYS)
    return f"scheduled for deletion in {KMS_PENDING_WINDOW_DAYS} days"


def _secrets(scan: Scan, region: str) -> list[str]:
    """Secrets named like the platform's, and secrets a service manages for one of its
    resources (the RDS master user secret names its cluster only in a tag)."""
    owner = scan.owner
    found = []
    for secret in scan.clients("secretsmanager", region).list_secrets()["SecretList"]:
        tags = secret.get("Tags", [])
        owners = [
            t["Value"].rsplit(":", 1)[-1] for t in tags if t["Key"].startswith("aws:rds:primary")
        ]
        if owner.named(secret["Name"]) or owner.tagged(tags) or any(map(owner.named, owners)):
            found.append(secret["Name"])
    return found


def _delete_secret(clients: Clients, region: str, name: str) -> str:
    secrets = clients("secretsmanager", region)
    secrets.describe_secret(SecretId=name)  # deleting a missing secret is not an error
    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    return "deleted (without recovery window)"


def _certificates(scan: Scan, region: str) -> list[str]:
    acm = scan.clients("acm", region)
    found = []
    for certificate in acm.list_certificates().get("CertificateSummaryList", []):
        arn = certificate["CertificateArn"]
        if scan.owner.tagged(acm.list_tags_for_certificate(CertificateArn=arn).get("Tags", [])):
            found.append(certificate["DomainName"])
    return found


def _delete_certificate(clients: Clients, region: str, name: str) -> str:
    acm = clients("acm", region)
    summaries = acm.list_certificates().get("CertificateSummaryList", [])
    arns = [c["CertificateArn"] for c in summaries if c.get("DomainName") == name]
    if not arns:
        raise GoneError
    for arn in arns:
        acm.delete_certificate(CertificateArn=arn)
    return "deleted" if len(arns) == 1 else f"deleted ({len(arns)} certificates)"


SECRET = Kind("secret", _secrets, _delete_secret)
CERTIFICATE = Kind("acm certificate", _certificates, _delete_certificate)
KMS_ALIAS = Kind("kms alias", _kms_aliases, _delete_kms_alias)
KMS_KEY = Kind("kms key", _kms_keys, _delete_kms_key)

"""The project's launcher for moto's server: the local AWS emulator, all services on one port.

``python -m tooling.moto_launcher --host 127.0.0.1 --port N`` applies the compatibility patches
below and then serves moto exactly as ``moto_server`` does (werkzeug, threaded, moto's request
handler). It also answers ``GET /_tap/emulator`` with its pid, moto version and applied patches,
so :mod:`tooling.emulator.process` can tell its own emulator from anything else on a port (no
valid S3 bucket name starts with ``_``, so the path cannot shadow an AWS request).

Each patch fixes one gap of ``/work/shared/EMULATOR-NOTES.md`` ("Gaps"), in moto and not in the
platform: the configuration deployed to AWS is never changed for the emulator's sake. A patch is
a small function that changes as little of moto as possible, returns a callable undoing itself,
and has a test (tests/tooling/test_moto_launcher.py) that shows moto's unpatched behaviour is the
gap and that the patch fixes it. When moto fixes a gap upstream, that test fails on the
"unpatched" assertion: drop the patch then.

Gap 4's ``referenced_security_group_id`` diff is deliberately not patched: moto already answers
like AWS (``ReferencedGroupInfo.UserId`` is the caller's account). The provider writes
``<account>/<sg-id>`` only when its own account id is unknown, i.e. when the provider runs with
``skip_requesting_account_id = true``; the local target must let the provider ask STS (moto
answers GetCallerIdentity), see :func:`tooling.emulator.process.local_provider_config`.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import string
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

__all__ = [
    "APIGATEWAY_REGIONAL_HOSTED_ZONES",
    "PATCHES",
    "STATUS_PATH",
    "CompatPatch",
    "Undo",
    "apply_patches",
    "build_app",
    "main",
    "new_dbi_resource_id",
    "patch_apigatewayv2_domain_name_status",
    "patch_apigatewayv2_domain_name_target",
    "patch_ec2_security_group_rule_descriptions",
    "patch_iam_aws_managed_policies",
    "patch_kms_rotation_period",
    "patch_lambda_dead_letter_config",
    "patch_rds_global_cluster_membership",
    "patch_rds_global_cluster_tags",
    "patch_rds_performance_insights",
    "patch_rds_provisioned_scaling_configuration",
    "patch_s3_bucket_policy_secure_transport",
    "patch_s3_logging_policy_with_wildcard_principal",
    "patch_secretsmanager_managed_rotation",
    "patch_secretsmanager_rotation_without_invocation",
    "patch_unique_dbi_resource_id",
    "patched",
]

#: Path answered by the launcher itself (not by moto) with its pid, version and patches.
STATUS_PATH = "/_tap/emulator"

Undo = Callable[[], None]
_MARKER = "__tap_compat_patch__"


def _replace(owner: type, name: str, make: Callable[[Any], Any]) -> Undo:
    """Replace ``owner.name`` by ``make(original)``; return a callable restoring the original.

    Refuses to patch twice: the replacement is marked, and a marked attribute is never wrapped.
    """
    original = owner.__dict__[name]
    if getattr(original, _MARKER, False):
        raise RuntimeError(f"{owner.__qualname__}.{name} is already patched")
    replacement = make(original)
    setattr(replacement, _MARKER, True)
    setattr(owner, name, replacement)

    def undo() -> None:
        setattr(owner, name, original)

    return undo


def _undo_all(undos: Iterable[Undo]) -> Undo:
    pending = list(undos)

    def undo() -> None:
        for step in reversed(pending):
            step()
        pending.clear()

    return undo


# --------------------------------------------------------------------------- gap 2


def new_dbi_resource_id() -> str:
    """A DbiResourceId like AWS's: ``db-`` and 26 upper-case letters and digits.

    Drawn from moto's own random source, so ``POST /moto-api/seed`` makes it reproducible.
    """
    from moto.moto_api._internal import mock_random

    alphabet = string.ascii_uppercase + string.digits
    return "db-" + "".join(mock_random.choice(alphabet) for _ in range(26))


def patch_unique_dbi_resource_id() -> Undo:
    """EMULATOR-NOTES gap 2: give every DB instance its own ``DbiResourceId``.

    moto 5.2.5 sets ``self.dbi_resource_id = "db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"`` in
    ``moto.rds.models.DBInstance.__init__`` for every instance (``DBInstanceClustered`` and
    restores from snapshots or points in time go through it too), and a read replica is a
    ``copy.copy`` of its primary. The aws provider reads ``aws_db_instance`` and
    ``aws_rds_cluster_instance`` with the ``dbi-resource-id`` filter, so with a second instance in
    the region the lookup matches two and fails with "couldn't find resource". The patch draws a
    fresh id after ``DBInstance.__init__`` and when ``DBInstance.set_as_replica`` turns a copy into
    a replica; nothing else changes.
    """
    from moto.rds.models import DBInstance

    def make_init(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:  # noqa: N807
            original(self, *args, **kwargs)
            self.dbi_resource_id = new_dbi_resource_id()

        return __init__

    def make_set_as_replica(original: Callable[[DBInstance], None]) -> Callable[[DBInstance], None]:
        @functools.wraps(original)
        def set_as_replica(self: DBInstance) -> None:
            original(self)
            self.dbi_resource_id = new_dbi_resource_id()

        return set_as_replica

    return _undo_all(
        [
            _replace(DBInstance, "__init__", make_init),
            _replace(DBInstance, "set_as_replica", make_set_as_replica),
        ]
    )


# --------------------------------------------------------------------------- gap 4 (Lambda)

_DLQ_ATTRIBUTE = "_tap_dead_letter_target_arn"


def _dead_letter_target(config: Any) -> str | None:
    """The TargetArn of a request's DeadLetterConfig; None when absent or emptied ("")."""
    if isinstance(config, dict):
        target = config.get("TargetArn")
        if isinstance(target, str) and target:
            return target
    return None


_LOGGING_ATTRIBUTE = "_tap_logging_config"


def _logging_config(update: Any, current: dict[str, Any] | None) -> dict[str, Any] | None:
    """A function's LoggingConfig after a request's ``LoggingConfig`` (merged, like AWS)."""
    if not isinstance(update, dict):
        return current
    merged = dict(current or {})
    merged.update({k: v for k, v in update.items() if isinstance(v, str) and v})
    return merged


def patch_lambda_dead_letter_config() -> Undo:
    """EMULATOR-NOTES gap 4: return a Lambda function's ``DeadLetterConfig``.

    moto 5.2.5's ``moto.awslambda.models.LambdaFunction`` ignores ``DeadLetterConfig`` in
    CreateFunction and UpdateFunctionConfiguration, and ``get_configuration`` (the body of
    GetFunction's ``Configuration``, GetFunctionConfiguration, ListFunctions, Create/Update
    responses) never has it, so ``aws_lambda_function.dead_letter_config`` shows an in-place
    update on every plan. The patch keeps the TargetArn from both requests (an empty TargetArn,
    which is how the provider removes it, clears it) and adds ``{"TargetArn": ...}`` to the
    configuration when there is one, like AWS.

    Same gap, same three methods (so in the same patch): moto also drops ``LoggingConfig``
    (found by the local deploy: ``logging_config { log_format = "JSON" }`` showed as an
    in-place update on every plan). The patch keeps it from both requests and returns it with
    AWS's defaults (``LogFormat`` ``Text``, ``LogGroup`` ``/aws/lambda/<name>``).
    """
    from moto.awslambda.models import LambdaFunction

    def make_init(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def __init__(  # noqa: N807
            self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
        ) -> None:
            original(self, account_id, spec, *args, **kwargs)
            setattr(self, _DLQ_ATTRIBUTE, _dead_letter_target(spec.get("DeadLetterConfig")))
            setattr(self, _LOGGING_ATTRIBUTE, _logging_config(spec.get("LoggingConfig"), None))

        return __init__

    def make_update(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(original)
        def update_configuration(
            self: LambdaFunction, config_updates: dict[str, Any]
        ) -> dict[str, Any]:
            if "DeadLetterConfig" in config_updates:
                target = _dead_letter_target(config_updates["DeadLetterConfig"])
                setattr(self, _DLQ_ATTRIBUTE, target)
            if "LoggingConfig" in config_updates:
                current = getattr(self, _LOGGING_ATTRIBUTE, None)
                setattr(
                    self,
                    _LOGGING_ATTRIBUTE,
                    _logging_config(config_updates["LoggingConfig"], current),
                )
            return original(self, config_updates)

        return update_configuration

    def make_get(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(original)
        def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
            config = original(self, *args, **kwargs)
            target = getattr(self, _DLQ_ATTRIBUTE, None)
            if target:
                config["DeadLetterConfig"] = {"TargetArn": target}
            config["LoggingConfig"] = {
                "LogFormat": "Text",
                "LogGroup": f"/aws/lambda/{self.function_name}",
                **(getattr(self, _LOGGING_ATTRIBUTE, None) or {}),
            }
            return config

        return get_configuration

    return _undo_all(
        [
            _replace(LambdaFunction, "__init__", make_init),
            _replace(LambdaFunction, "update_configuration", make_update),
            _replace(LambdaFunction, "get_configuration", make_get),
        ]
    )


# --------------------------------------------------------------------------- gap 3


def patch_apigatewayv2_domain_name_status() -> Undo:
    """EMULATOR-NOTES gap 3: API Gateway v2 custom domain names answer like AWS.

    moto 5.2.5's ``moto.apigatewayv2.models.DomainName.to_json`` (the body of CreateDomainName,
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

    return _replace(DomainName, "to_json", make_to_json)


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


def patch_apigatewayv2_domain_name_target() -> Undo:
    """EMULATOR-NOTES gap 3 (found by the local deploy of ``global``): a custom domain name has
    no target to point DNS at.

    For every configuration of a custom domain name, AWS assigns the API Gateway domain name
    that serves it (``apiGatewayDomainName``, ``d-<id>.execute-api.<region>.amazonaws.com``)
    and the hosted zone of that name (``hostedZoneId``, fixed per region): what a Route 53
    alias record points at. moto 5.2.5's ``moto.apigatewayv2.models.DomainName`` keeps the
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

    return _replace(DomainName, "__init__", make_init)


# --------------------------------------------------------------------------- gap 7 (S3)

_SECURE_TRANSPORT = "aws:securetransport"


def _secure_transport_applies(statement: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """Evaluate a statement's ``aws:SecureTransport`` Bool conditions for a TLS request.

    Returns whether the statement still applies and the statement without those conditions
    (the rest is left to moto's own evaluation).
    """
    conditions = statement.get("Condition")
    if not isinstance(conditions, dict):
        return True, statement
    applies = True
    remaining: dict[str, Any] = {}
    for operator, values in conditions.items():
        if operator.lower() not in ("bool", "boolifexists") or not isinstance(values, dict):
            remaining[operator] = values
            continue
        kept = {}
        for key, expected in values.items():
            if key.lower() != _SECURE_TRANSPORT:
                kept[key] = expected
                continue
            wanted = expected if isinstance(expected, list) else [expected]
            if "true" not in [str(value).lower() for value in wanted]:
                applies = False
        if kept:
            remaining[operator] = kept
    rest = {k: v for k, v in statement.items() if k != "Condition"}
    if remaining:
        rest["Condition"] = remaining
    return applies, rest


def patch_s3_bucket_policy_secure_transport() -> Undo:
    """EMULATOR-NOTES gap 7 (found by the local deploy): TLS-only bucket policies lock moto out.

    moto 5.2.5 checks a bucket's policy on every object request
    (``moto.s3.models.FakeBucket.get_permission`` -> ``IAMPolicy.is_action_permitted``) but
    knows no request context: a condition on a key it has no value for counts as met, so the
    standard ``Deny s3:* if aws:SecureTransport = false`` statement (the state bucket's and the
    data buckets' TLS-only policy) denies every object request, and Terraform's S3 backend fails
    with 403 on ``HeadObject``. The emulator stands in for AWS's HTTPS endpoints (clients reach it
    over plain HTTP on loopback only), so the patch evaluates ``aws:SecureTransport`` as ``true``:
    a statement whose ``Bool``/``BoolIfExists`` ``aws:SecureTransport`` condition does not accept
    ``true`` does not apply; the rest of each statement is evaluated by moto as before.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def make_get_permission(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
            if self.policy is None:
                return original(self, action, resource)
            document = json.loads(self.policy)
            statements = document.get("Statement")
            if isinstance(statements, dict):
                statements = [statements]
            if not isinstance(statements, list):
                return original(self, action, resource)
            kept = []
            for statement in statements:
                applies, rest = _secure_transport_applies(statement)
                if applies:
                    kept.append(rest)
            if not kept:
                return PermissionResult.NEUTRAL
            policy = json.dumps({**document, "Statement": kept})
            return IAMPolicy(policy).is_action_permitted(action, resource)

        return get_permission

    return _replace(FakeBucket, "get_permission", make_get_permission)


def patch_s3_logging_policy_with_wildcard_principal() -> Undo:
    """EMULATOR-NOTES gap 6 (found by the local deploy): moto crashes on the logging check.

    moto 5.2.5's ``FakeBucket._log_permissions_enabled_policy`` (PutBucketLogging: does the
    target bucket's policy let ``logging.s3.amazonaws.com`` write?) calls
    ``stmt.get("Principal", {}).get("Service")`` on every statement of the target bucket's
    policy, so a statement with ``"Principal": "*"`` (the TLS-only deny every platform bucket
    has) raises AttributeError: HTTP 500, and the provider gives up on
    ``aws_s3_bucket_logging``. The patch hands moto's check only the statements whose
    ``Principal`` is an object (a ``"*"`` principal can never be the logging service grant);
    the check itself is unchanged.
    """
    from types import SimpleNamespace

    from moto.s3.models import FakeBucket

    def make_check(original: Any) -> Any:
        check = original.__func__ if isinstance(original, staticmethod) else original

        @functools.wraps(check)
        def _log_permissions_enabled_policy(target_bucket: Any, target_prefix: str | None) -> bool:
            policy = target_bucket.policy
            if policy:
                document = json.loads(policy.decode() if isinstance(policy, bytes) else policy)
                statements = document.get("Statement")
                if isinstance(statements, dict):
                    statements = [statements]
                kept = [
                    s for s in statements or [] if isinstance(s, dict)
                    and isinstance(s.get("Principal", {}), dict)
                ]  # fmt: skip
                policy = json.dumps({**document, "Statement": kept}).encode()
            view = SimpleNamespace(
                policy=policy, partition=target_bucket.partition, name=target_bucket.name
            )
            return bool(check(view, target_prefix))

        return staticmethod(_log_permissions_enabled_policy)

    return _replace(FakeBucket, "_log_permissions_enabled_policy", make_check)


# --------------------------------------------------------------------------- gap 4 (more diffs)


def _kwarg(kwargs: dict[str, Any], snake: str, camel: str) -> Any:
    return kwargs[snake] if snake in kwargs else kwargs.get(camel)


def patch_rds_performance_insights() -> Undo:
    """EMULATOR-NOTES gap 4 (found by the local deploy): Performance Insights settings are lost.

    moto 5.2.5's RDS ignores ``EnablePerformanceInsights``, ``PerformanceInsightsKMSKeyId`` and
    ``PerformanceInsightsRetentionPeriod`` of CreateDBInstance/ModifyDBInstance and
    DescribeDBInstances never returns them, so ``aws_rds_cluster_instance`` /
    ``aws_db_instance`` with ``performance_insights_enabled = true`` show
    ``false -> true`` on every plan. The patch keeps the three values from both requests on the
    instance (moto's serializer then returns them, like AWS; retention defaults to AWS's 7 days
    when enabled).
    """
    from moto.rds.models import RDSBackend

    def remember(database: Any, kwargs: dict[str, Any]) -> None:
        enabled = _kwarg(kwargs, "enable_performance_insights", "EnablePerformanceInsights")
        if enabled is not None:
            database.performance_insights_enabled = str(enabled).lower() == "true"
        key = _kwarg(kwargs, "performance_insights_kms_key_id", "PerformanceInsightsKMSKeyId")
        if key:
            database.performance_insights_kms_key_id = key
        retention = _kwarg(
            kwargs, "performance_insights_retention_period", "PerformanceInsightsRetentionPeriod"
        )
        if retention:
            database.performance_insights_retention_period = int(retention)
        elif getattr(database, "performance_insights_enabled", False) and not getattr(
            database, "performance_insights_retention_period", None
        ):
            database.performance_insights_retention_period = 7

    def make_create(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
            database = original(self, db_kwargs)
            remember(database, db_kwargs)
            return database

        return create_db_instance

    def make_modify(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def modify_db_instance(
            self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]
        ) -> Any:
            kwargs = dict(db_kwargs)
            database = original(self, db_instance_identifier, db_kwargs)
            remember(database, kwargs)
            return database

        return modify_db_instance

    return _undo_all(
        [
            _replace(RDSBackend, "create_db_instance", make_create),
            _replace(RDSBackend, "modify_db_instance", make_modify),
        ]
    )


def patch_kms_rotation_period() -> Undo:
    """EMULATOR-NOTES gap 4 (found by the local deploy): KMS forgets the rotation period.

    moto 5.2.5's EnableKeyRotation ignores ``RotationPeriodInDays`` and GetKeyRotationStatus
    returns only ``KeyRotationEnabled``, so ``aws_kms_key.rotation_period_in_days = 365`` reads
    back as 0 and shows ``0 -> 365`` on every plan. The patch keeps the period (AWS's default
    365 when not given) and returns it while rotation is enabled, like AWS.
    """
    from moto.kms.responses import KmsResponse

    attribute = "_tap_rotation_period_in_days"

    def make_enable(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def enable_key_rotation(self: KmsResponse) -> str:
            result = original(self)
            key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
            setattr(key, attribute, int(self._get_param("RotationPeriodInDays") or 365))
            return result

        return enable_key_rotation

    def make_status(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def get_key_rotation_status(self: KmsResponse) -> str:
            body = json.loads(original(self))
            key = self.kms_backend.keys[self.kms_backend.get_key_id(self._get_param("KeyId"))]
            if body.get("KeyRotationEnabled"):
                body["RotationPeriodInDays"] = getattr(key, attribute, 365)
                body["KeyId"] = key.id
            return json.dumps(body)

        return get_key_rotation_status

    return _undo_all(
        [
            _replace(KmsResponse, "enable_key_rotation", make_enable),
            _replace(KmsResponse, "get_key_rotation_status", make_status),
        ]
    )


# --------------------------------------------------------------------------- gap 4 (EC2, RDS)


class _PatchedProperty(property):
    """A property that can carry the patch marker (``property`` objects have no ``__dict__``)."""


_PREFIX_LIST_DESCRIPTION = "_tap_prefix_list_description"


def patch_ec2_security_group_rule_descriptions() -> Undo:
    """EMULATOR-NOTES gap 4 (found by the local deploy): security group rule descriptions are lost.

    moto 5.2.5's ``moto.ec2.models.security_groups.SecurityGroupRule.description`` (the
    ``Description`` of DescribeSecurityGroupRules) reads only the CIDR range's description. A
    rule that references a security group keeps its description in the request's
    ``UserIdGroupPairs`` entry, and a prefix-list rule in its ``PrefixListIds`` entry, which
    moto reduces to the id; so every ``aws_vpc_security_group_ingress_rule`` /
    ``aws_vpc_security_group_egress_rule`` with ``referenced_security_group_id`` or
    ``prefix_list_id`` shows ``+ description`` on every plan. The patch keeps the prefix-list
    entry's description on the rule and returns, like AWS, the description of whichever
    source the rule has (CIDR range first, as before; ModifySecurityGroupRules still writes
    there).
    """
    from moto.ec2.models.security_groups import SecurityGroupRule

    def make_init(original: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(original)
        def __init__(self: SecurityGroupRule, *args: Any, **kwargs: Any) -> None:  # noqa: N807
            original(self, *args, **kwargs)
            entry = kwargs.get("prefix_list_id", args[7] if len(args) > 7 else None)
            description = entry.get("Description") if isinstance(entry, dict) else None
            setattr(self, _PREFIX_LIST_DESCRIPTION, description)

        return __init__

    def make_description(original: property) -> property:
        def description(self: SecurityGroupRule) -> str | None:
            own = original.__get__(self, type(self))
            if own is not None:
                return str(own)
            from_group = (self.source_group or {}).get("Description")
            if from_group is not None:
                return str(from_group)
            return getattr(self, _PREFIX_LIST_DESCRIPTION, None)

        return _PatchedProperty(description, doc=original.__doc__)

    return _undo_all(
        [
            _replace(SecurityGroupRule, "__init__", make_init),
            _replace(SecurityGroupRule, "description", make_description),
        ]
    )


def patch_rds_provisioned_scaling_configuration() -> Undo:
    """EMULATOR-NOTES gap 4: an Aurora cluster shows a ``scaling_configuration`` diff.

    moto 5.2.5's ``moto.rds.models.DBCluster.scaling_configuration_info`` always returns a
    dictionary, all of its values ``None`` when the cluster has no Serverless v1 scaling
    configuration, so DescribeDBClusters answers ``<ScalingConfigurationInfo/>`` for a
    provisioned (and Serverless v2) cluster, where AWS answers nothing. The provider reads the
    empty element as a ``scaling_configuration`` block and plans to fill in its defaults
    (``auto_pause``, ``max_capacity = 16``, ...) on every plan. The patch leaves
    ``ScalingConfigurationInfo`` out when the cluster has no scaling configuration (moto gives
    every ``engine_mode = "serverless"`` cluster AWS's default one, so those are unchanged).
    """
    from moto.rds.models import DBCluster

    def make_info(original: property) -> property:
        def scaling_configuration_info(self: DBCluster) -> dict[str, Any] | None:
            if not self.scaling_configuration:
                return None
            info: dict[str, Any] = original.__get__(self, type(self))
            return info

        return _PatchedProperty(scaling_configuration_info, doc=original.__doc__)

    return _replace(DBCluster, "scaling_configuration_info", make_info)


def patch_rds_global_cluster_tags() -> Undo:
    """EMULATOR-NOTES gap 4 (found by the re-plan of ``global``): a global cluster's tags.

    moto 5.2.5's ``RDSResponse.create_global_cluster`` ignores the request's ``Tags``, and
    ListTagsForResource of a global cluster's ARN (``arn:aws:rds::<account>:global-cluster:<id>``,
    no region) looks in the backend of the region the request went to, while moto keeps every
    global cluster in its ``us-east-1`` backend: ``aws_rds_global_cluster`` reads no tags and
    shows ``~ tags_all`` (the provider's default tags) on every plan. The patch stores the
    ``Tags`` of CreateGlobalCluster on the global cluster and resolves a ``global-cluster`` ARN
    (which moto's ARN check refuses: "Invalid resource name") through the backend that holds
    it, from any region, like AWS (so Add/RemoveTagsFromResource work on it too). Nothing
    else changes.
    """
    from moto.rds.models import RDSBackend, rds_backends
    from moto.rds.responses import RDSResponse

    def make_create(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def create_global_cluster(self: RDSResponse) -> Any:
            result = original(self)
            tags = self.params.get("Tags") or []
            if tags:
                identifier = self.params["GlobalClusterIdentifier"]
                self.global_backend.global_clusters[identifier].add_tags(list(tags))
            return result

        return create_global_cluster

    def make_find(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def _get_resource_for_tagging(self: RDSBackend, arn: str) -> Any:
            parts = arn.split(":")
            if len(parts) == 7 and parts[2] == "rds" and parts[5] == "global-cluster":
                holder = rds_backends[self.account_id]["us-east-1"]
                return holder.global_clusters.get(parts[6])
            return original(self, arn)

        return _get_resource_for_tagging

    return _undo_all(
        [
            _replace(RDSResponse, "create_global_cluster", make_create),
            _replace(RDSBackend, "_get_resource_for_tagging", make_find),
        ]
    )


def _holder_global_cluster(backend: Any, identifier: str | None) -> Any:
    """The global cluster named by ``identifier`` (id or ARN) in the backend moto keeps them in."""
    from moto.rds.models import rds_backends

    if not identifier:
        return None
    holder = rds_backends[backend.account_id]["us-east-1"]
    return holder.global_clusters.get(str(identifier).rsplit(":", 1)[-1])


def patch_rds_global_cluster_membership() -> Undo:
    """EMULATOR-NOTES gap 4 (found by the local destroy of ``global``): a global cluster keeps
    deleted members outside us-east-1, so it can never be deleted.

    moto 5.2.5 keeps every global cluster in its ``us-east-1`` backend (CreateGlobalCluster,
    DescribeGlobalClusters), but ``RDSBackend.remove_from_global_cluster`` and the removal in
    ``delete_db_cluster`` look in the backend of the cluster's own region: in any other region
    they find no global cluster and silently do nothing. Deleted clusters of ``ap-southeast-1``
    and ``us-east-2`` stay members, and DeleteGlobalCluster fails with
    InvalidGlobalClusterStateFault until the provider's timeout (destroy hangs). The patch does
    the same removal against the backend that holds the global cluster (identifier or ARN),
    for this cluster object only; everything else is moto's.
    """
    from moto.rds.models import RDSBackend

    def detach(backend: RDSBackend, global_identifier: str | None, cluster: Any) -> Any:
        global_cluster = _holder_global_cluster(backend, global_identifier)
        if global_cluster is not None and cluster in global_cluster.members:
            global_cluster.members.remove(cluster)
        return global_cluster

    def make_remove(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def remove_from_global_cluster(
            self: RDSBackend, global_cluster_identifier: str, db_cluster_identifier: str
        ) -> Any:
            name = str(db_cluster_identifier).rsplit(":", 1)[-1]
            cluster = self.clusters.get(name)
            if cluster is not None:
                found = detach(self, global_cluster_identifier, cluster)
                if found is not None:
                    cluster.global_cluster_identifier = None
                    return found
            return original(self, global_cluster_identifier, db_cluster_identifier)

        return remove_from_global_cluster

    def make_delete(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def delete_db_cluster(
            self: RDSBackend, cluster_identifier: str, snapshot_name: str | None = None
        ) -> Any:
            cluster = self.clusters.get(cluster_identifier)
            deleted = original(self, cluster_identifier, snapshot_name)
            if cluster is not None:
                detach(self, cluster.global_cluster_identifier, cluster)
            return deleted

        return delete_db_cluster

    return _undo_all(
        [
            _replace(RDSBackend, "remove_from_global_cluster", make_remove),
            _replace(RDSBackend, "delete_db_cluster", make_delete),
        ]
    )


# --------------------------------------------------------------------------- gap 8 (Secrets)


def patch_secretsmanager_managed_rotation() -> Undo:
    """EMULATOR-NOTES gap 8 (found by the local destroy): managed rotation cannot be cancelled.

    A secret owned by a service (``OwningService``, e.g. the master user secret RDS creates
    with ``manage_master_user_password``) rotates through the service's managed rotation, with
    no rotation Lambda (RotateSecret with only ``RotationRules``, which moto 5.2.5 accepts).
    moto's ``SecretsManagerBackend.cancel_rotate_secret`` refuses every secret without a
    ``RotationLambdaARN`` ("doesn't already have a Lambda function ARN configured"), so
    destroying ``aws_secretsmanager_secret_rotation`` of such a secret fails. The patch lets
    CancelRotateSecret turn rotation off for a service-owned secret without a Lambda, like
    AWS; any other secret without a Lambda still gets moto's (AWS's documented) error.
    """
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    def make_cancel(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def cancel_rotate_secret(self: SecretsManagerBackend, secret_id: str) -> str:
            secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
            if (
                isinstance(secret, FakeSecret)
                and not secret.is_deleted()
                and not secret.rotation_lambda_arn
                and secret.owning_service
            ):
                secret.rotation_enabled = False
                return secret.to_short_dict()
            return original(self, secret_id)

        return cancel_rotate_secret

    return _replace(SecretsManagerBackend, "cancel_rotate_secret", make_cancel)


def patch_secretsmanager_rotation_without_invocation() -> Undo:
    """EMULATOR-NOTES gap 5 (found by the local deploy of ``global``): RotateSecret with a
    Lambda runs it.

    moto 5.2.5's ``SecretsManagerBackend.rotate_secret`` with a ``RotationLambdaARN`` invokes
    the function for every rotation step (create/set/test/finish); invoking Lambda code needs
    Docker, each step fails (only logged), and moto then makes the new, empty ``AWSPENDING``
    version current: GetSecretValue of the secret fails from then on ("can't find the specified
    secret value for staging label: AWSCURRENT"), so the next plan's ephemeral read of the
    master password (``master_password_wo``) fails. On AWS, RotateSecret records the schedule
    and the function (which really runs) writes a new value. The patch does the recording
    part only: for a live (not deleted, not replica) secret it checks, like moto, that the
    function exists and the rules are in range, then sets ``RotationLambdaARN``,
    ``RotationRules`` and ``RotationEnabled`` (and the next rotation date) and leaves the
    secret's versions as they are, i.e. as if the function had not run yet.
    RotateSecret without a Lambda (managed rotation) is unchanged.
    """
    import time

    from moto.awslambda.utils import get_backend
    from moto.secretsmanager.exceptions import InvalidParameterException, ResourceNotFoundException
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    def make_rotate(original: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(original)
        def rotate_secret(
            self: SecretsManagerBackend,
            secret_id: str,
            client_request_token: str | None = None,
            rotation_lambda_arn: str | None = None,
            rotation_rules: dict[str, Any] | None = None,
            rotate_immediately: bool = True,
        ) -> str:
            secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
            if (
                not rotation_lambda_arn
                or not isinstance(secret, FakeSecret)
                or secret.is_deleted()
                or len(rotation_lambda_arn) > 2048
            ):
                return original(
                    self,
                    secret_id,
                    client_request_token=client_request_token,
                    rotation_lambda_arn=rotation_lambda_arn,
                    rotation_rules=rotation_rules,
                    rotate_immediately=rotate_immediately,
                )
            try:
                get_backend(self.account_id, self.region_name).get_function(rotation_lambda_arn)
            except Exception:
                msg = f"Resource not found for ARN '{rotation_lambda_arn}'."
                raise ResourceNotFoundException(msg) from None
            days = (rotation_rules or {}).get("AutomaticallyAfterDays")
            if days is not None:
                if not 1 <= int(days) <= 1000:
                    msg = "RotationRules.AutomaticallyAfterDays must be within 1-1000."
                    raise InvalidParameterException(msg)
                secret.auto_rotate_after_days = int(days)
                secret.next_rotation_date = int(time.time()) + int(days) * 86400
            secret.rotation_lambda_arn = rotation_lambda_arn
            secret.rotation_requested = True
            if secret.auto_rotate_after_days > 0:
                secret.rotation_enabled = True
            return secret.to_short_dict()

        return rotate_secret

    return _replace(SecretsManagerBackend, "rotate_secret", make_rotate)


# --------------------------------------------------------------------------- gap 9 (IAM)


def patch_iam_aws_managed_policies() -> Undo:
    """EMULATOR-NOTES gap 9 (found by the local deploy): AWS managed policies do not exist.

    moto 5.2.5 creates an account's IAM backend without AWS's managed policies unless its
    ``iam.load_aws_managed_policies`` setting is on (``moto.core.config.default_user_config``, or
    ``MOTO_IAM_LOAD_MANAGED_POLICIES=true``), so attaching e.g.
    ``arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`` (the role of RDS
    enhanced monitoring) fails with NoSuchEntity. The patch turns the setting on: every IAM
    backend moto creates from then on (also after ``/moto-api/reset``) has the 1,500-odd AWS
    managed policies moto ships, like every AWS account (~0.3 s per account).
    """
    from moto.core.config import default_user_config

    iam = default_user_config.setdefault("iam", {})
    previous = iam.get("load_aws_managed_policies", False)
    iam["load_aws_managed_policies"] = True

    def undo() -> None:
        iam["load_aws_managed_policies"] = previous

    return undo


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class CompatPatch:
    """One compatibility patch: its name, the EMULATOR-NOTES gap it closes, how to apply it."""

    name: str
    gap: str
    apply: Callable[[], Undo]


PATCHES: tuple[CompatPatch, ...] = (
    CompatPatch("rds-unique-dbi-resource-id", "2", patch_unique_dbi_resource_id),
    CompatPatch("apigatewayv2-domain-name-status", "3", patch_apigatewayv2_domain_name_status),
    CompatPatch("apigatewayv2-domain-name-target", "3", patch_apigatewayv2_domain_name_target),
    CompatPatch("lambda-dead-letter-config", "4", patch_lambda_dead_letter_config),
    CompatPatch("s3-bucket-policy-secure-transport", "7", patch_s3_bucket_policy_secure_transport),
    CompatPatch(
        "s3-logging-policy-wildcard-principal", "6", patch_s3_logging_policy_with_wildcard_principal
    ),
    CompatPatch("rds-performance-insights", "4", patch_rds_performance_insights),
    CompatPatch("kms-rotation-period", "4", patch_kms_rotation_period),
    CompatPatch(
        "ec2-security-group-rule-descriptions", "4", patch_ec2_security_group_rule_descriptions
    ),
    CompatPatch(
        "rds-provisioned-scaling-configuration", "4", patch_rds_provisioned_scaling_configuration
    ),
    CompatPatch("rds-global-cluster-tags", "4", patch_rds_global_cluster_tags),
    CompatPatch("rds-global-cluster-membership", "4", patch_rds_global_cluster_membership),
    CompatPatch("secretsmanager-managed-rotation", "8", patch_secretsmanager_managed_rotation),
    CompatPatch("iam-aws-managed-policies", "9", patch_iam_aws_managed_policies),
    CompatPatch(
        "secretsmanager-rotation-without-invocation",
        "5",
        patch_secretsmanager_rotation_without_invocation,
    ),
)


def apply_patches(patches: Sequence[CompatPatch] = PATCHES) -> Undo:
    """Apply ``patches`` in order; return a callable undoing all of them (reverse order)."""
    undos: list[Undo] = []
    try:
        for patch in patches:
            undos.append(patch.apply())
    except BaseException:
        _undo_all(undos)()
        raise
    return _undo_all(undos)


@contextmanager
def patched(patches: Sequence[CompatPatch] = PATCHES) -> Iterator[None]:
    """Apply ``patches`` for the duration of a ``with`` block (tests, in-process servers)."""
    undo = apply_patches(patches)
    try:
        yield
    finally:
        undo()


# --------------------------------------------------------------------------- server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def build_app(patches: Sequence[CompatPatch]) -> WsgiApp:
    """moto's all-services WSGI application, plus the launcher's status endpoint."""
    import moto
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_app = DomainDispatcherApplication(create_backend_app)
    status = json.dumps(
        {
            "pid": os.getpid(),
            "moto_version": moto.__version__,
            "patches": [{"name": p.name, "gap": p.gap} for p in patches],
        }
    ).encode()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == STATUS_PATH:
            start_response(
                "200 OK",
                [("Content-Type", "application/json"), ("Content-Length", str(len(status)))],
            )
            return [status]
        result: Iterable[bytes] = moto_app(environ, start_response)
        return result

    return app


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, apply the patches, serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m tooling.moto_launcher",
        description="moto's server for the local AWS target, with the project's patches.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, required=True, help="port to bind")
    parser.add_argument(
        "--no-patches", action="store_true", help="serve unpatched moto (to diagnose a patch)"
    )
    args = parser.parse_args(argv)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import run_simple

    patches = () if args.no_patches else PATCHES
    apply_patches(patches)
    # moto builds some URLs (e.g. SQS queue URLs) from MOTO_PORT, as moto_server does.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    names = ", ".join(f"{p.name} (gap {p.gap})" for p in patches) or "none"
    print(
        f"tap emulator pid {os.getpid()}: patches: {names}; "
        f"serving on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )
    run_simple(
        args.host,
        args.port,
        build_app(patches),
        threaded=True,
        request_handler=MotoRequestHandler,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What an AWS account already has before the platform is deployed, prepared in the emulator.

Some deployments refer to things they do not create, because on AWS the account (or another
team) owns them: the ``global`` deployment reads the public hosted zone of its ``dns.zone_name``,
the existing Secrets Manager entry ``database.master_password_secret`` (a JSON document with a
``"password"``) and the rotation function ``database.rotation_function_name``, both in the
primary region. A fresh emulator has none of them, so for the **local target only**,
``./tap deploy`` calls :func:`prepare` before applying the stacks: it creates whatever of them
is missing (idempotent; an existing one is left as it is) and says what it did. ``./tap destroy``
calls :func:`remove` after the stacks are gone, so the emulator ends as empty as it started and
the leftover check still sees everything of the platform. Nothing here ever runs for
``--target aws`` (:func:`prepare` and :func:`remove` refuse a session without an emulator):
there the account provides these, and a missing one is a plan error naming it.

The rotation function is created, never run (RotateSecret does not invoke it in the emulator:
``secretsmanager-rotation-without-invocation`` in :mod:`tooling.emulator.patches.secretsmanager`,
docs/emulator.md, gap 5).
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tooling.emulator.process import MOTO_ACCOUNT_ID

__all__ = [
    "AccountFixtures",
    "LocalFixtureError",
    "fixtures_for",
    "prepare",
    "remove",
]

#: Handler of the stand-in rotation function (never invoked by the emulator).
_ROTATION_SOURCE = (
    "def lambda_handler(event, context):\n"
    "    raise NotImplementedError('stand-in for the account rotation function')\n"
)
_ROTATION_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


class LocalFixtureError(RuntimeError):
    """The fixtures cannot be prepared here (e.g. asked for outside the local target)."""


@dataclass(frozen=True)
class AccountFixtures:
    """The pre-existing account resources one environment needs (empty: none)."""

    environment: str
    primary_region: str
    zone_name: str | None = None
    master_secret_name: str | None = None
    rotation_function_name: str | None = None

    @property
    def needed(self) -> bool:
        return any((self.zone_name, self.master_secret_name, self.rotation_function_name))

    @property
    def rotation_role_name(self) -> str:
        return f"{self.rotation_function_name}-role"


def fixtures_for(environment: Any) -> AccountFixtures:
    """What ``environment`` (a :class:`trading_infra.config.Environment`) expects to exist."""
    database = environment.profile.database
    return AccountFixtures(
        environment=environment.name,
        primary_region=environment.primary_region.name,
        zone_name=environment.dns.zone_name if environment.dns is not None else None,
        master_secret_name=database.master_password_secret,
        rotation_function_name=database.rotation_function_name,
    )


def _require_local(session: Any) -> None:
    if getattr(session, "emulator", None) is None or session.target != "local":
        raise LocalFixtureError(
            "account fixtures are prepared in the local emulator only; on AWS the account "
            "provides the hosted zone, the master secret and the rotation function"
        )


def _zone_id(route53: Any, zone_name: str) -> str | None:
    wanted = zone_name.rstrip(".") + "."
    for zone in route53.list_hosted_zones_by_name(DNSName=wanted).get("HostedZones", []):
        private = zone.get("Config", {}).get("PrivateZone", False)
        if zone["Name"] == wanted and not private:
            return str(zone["Id"]).rsplit("/", 1)[-1]
    return None


def _rotation_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("rotation.py", date_time=(2020, 1, 1, 0, 0, 0))
        archive.writestr(info, _ROTATION_SOURCE)
    return buffer.getvalue()


def _exists(call: Callable[[], Any], missing: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == missing:
            return False
        raise
    return True


def prepare(session: Any, fixtures: AccountFixtures) -> list[str]:
    """Create the missing fixtures in the emulator (idempotent); return what was done."""
    _require_local(session)
    done: list[str] = []
    region = fixtures.primary_region
    if fixtures.zone_name:
        route53 = session.client("route53", region)
        if _zone_id(route53, fixtures.zone_name) is None:
            route53.create_hosted_zone(
                Name=fixtures.zone_name,
                CallerReference=f"tap-local-fixture-{fixtures.zone_name}",
                HostedZoneConfig={
                    "Comment": "account fixture (local target)",
                    "PrivateZone": False,
                },
            )
            done.append(f"hosted zone {fixtures.zone_name}: created")
        else:
            done.append(f"hosted zone {fixtures.zone_name}: exists")
    if fixtures.master_secret_name:
        sm = session.client("secretsmanager", region)
        name = fixtures.master_secret_name
        if not _exists(lambda: sm.describe_secret(SecretId=name), "ResourceNotFoundException"):
            sm.create_secret(
                Name=name,
                Description="Aurora master credentials (account fixture, local target)",
                SecretString=json.dumps(
                    {"username": "tap_admin", "password": secrets.token_urlsafe(24)}
                ),
            )
            done.append(f"secret {name} ({region}): created")
        else:
            done.append(f"secret {name} ({region}): exists")
    if fixtures.rotation_function_name:
        aws_lambda = session.client("lambda", region)
        function = fixtures.rotation_function_name
        if not _exists(
            lambda: aws_lambda.get_function(FunctionName=function), "ResourceNotFoundException"
        ):
            iam = session.client("iam", region)
            role = fixtures.rotation_role_name
            if not _exists(lambda: iam.get_role(RoleName=role), "NoSuchEntity"):
                iam.create_role(
                    RoleName=role, AssumeRolePolicyDocument=json.dumps(_ROTATION_ROLE_POLICY)
                )
            aws_lambda.create_function(
                FunctionName=function,
                Runtime="python3.12",
                Role=f"arn:aws:iam::{MOTO_ACCOUNT_ID}:role/{role}",
                Handler="rotation.lambda_handler",
                Code={"ZipFile": _rotation_zip()},
                Description="Secrets Manager rotation (account fixture, local target)",
            )
            # What the account's rotation function has on AWS (preflight checks it): Secrets
            # Manager may invoke it, from this account only
            # (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html).
            aws_lambda.add_permission(
                FunctionName=function,
                StatementId="SecretsManagerRotation",
                Action="lambda:InvokeFunction",
                Principal="secretsmanager.amazonaws.com",
                SourceAccount=MOTO_ACCOUNT_ID,
            )
            done.append(f"function {function} ({region}): created")
        else:
            done.append(f"function {function} ({region}): exists")
    return done


def remove(session: Any, fixtures: AccountFixtures) -> list[str]:
    """Delete the fixtures from the emulator (after destroy); return what was removed."""
    from botocore.exceptions import ClientError

    _require_local(session)
    done: list[str] = []
    region = fixtures.primary_region
    if fixtures.rotation_function_name:
        aws_lambda = session.client("lambda", region)
        if _exists(
            lambda: aws_lambda.delete_function(FunctionName=fixtures.rotation_function_name),
            "ResourceNotFoundException",
        ):
            done.append(f"function {fixtures.rotation_function_name}: removed")
        iam = session.client("iam", region)
        if _exists(lambda: iam.delete_role(RoleName=fixtures.rotation_role_name), "NoSuchEntity"):
            done.append(f"role {fixtures.rotation_role_name}: removed")
    if fixtures.master_secret_name:
        sm = session.client("secretsmanager", region)
        if _exists(
            lambda: sm.delete_secret(
                SecretId=fixtures.master_secret_name, ForceDeleteWithoutRecovery=True
            ),
            "ResourceNotFoundException",
        ):
            done.append(f"secret {fixtures.master_secret_name}: removed")
    if fixtures.zone_name:
        route53 = session.client("route53", region)
        zone_id = _zone_id(route53, fixtures.zone_name)
        if zone_id is not None:
            try:
                route53.delete_hosted_zone(Id=zone_id)
            except ClientError as exc:  # records the platform left behind: report, keep it
                done.append(f"hosted zone {fixtures.zone_name}: kept ({exc})")
            else:
                done.append(f"hosted zone {fixtures.zone_name}: removed")
    return done

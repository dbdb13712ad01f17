"""tooling.emulator.patches.secretsmanager: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 8:
cancelling the managed rotation of an RDS master user secret; gap 5: RotateSecret with the
account's rotation Lambda invokes it, which needs Docker)."""

from __future__ import annotations

import io
import json
import zipfile
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.tooling.emulator.conftest import client, named
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

#: A client in ap-southeast-1 of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region="ap-southeast-1", reset=True)
#: A client in us-east-2 (where the ``global`` tests found gap 5); ``reset=True`` resets first.
_global_client = partial(client, region="us-east-2", reset=False)


# ------------------------------------------------------------------------- gap 8 (managed rotation)


def _managed_secret_rotation(endpoint: str) -> tuple[Any, str]:
    """An RDS-managed master secret with managed rotation on (no Lambda), as the platform has."""
    rds = _client(endpoint, "rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="c", Engine="aurora-mysql", MasterUsername="admin",
        ManageMasterUserPassword=True,
    )["DBCluster"]  # fmt: skip
    arn = cluster["MasterUserSecret"]["SecretArn"]
    secrets = _client(endpoint, "secretsmanager", reset=False)
    secrets.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30})
    assert secrets.describe_secret(SecretId=arn)["RotationEnabled"] is True
    return secrets, arn


def test_gap8_unpatched_moto_refuses_to_cancel_managed_rotation(endpoint: str) -> None:
    secrets, arn = _managed_secret_rotation(endpoint)
    with pytest.raises(ClientError, match="Lambda function ARN"):
        secrets.cancel_rotate_secret(SecretId=arn)


def test_gap8_patch_cancels_managed_rotation(endpoint: str) -> None:
    with patched(named("secretsmanager-managed-rotation")):
        secrets, arn = _managed_secret_rotation(endpoint)
        answer = secrets.cancel_rotate_secret(SecretId=arn)
        assert answer["ARN"] == arn
        assert secrets.describe_secret(SecretId=arn)["RotationEnabled"] is False
        # a secret no service owns still needs a rotation Lambda, as on AWS
        plain = secrets.create_secret(Name="plain", SecretString="x")["ARN"]
        with pytest.raises(ClientError, match="Lambda function ARN"):
            secrets.cancel_rotate_secret(SecretId=plain)


# ------------------------------------------------------------------------- gap 5 (rotation Lambda)


def _secret_with_rotation_function(endpoint: str) -> tuple[Any, str]:
    iam = _global_client(endpoint, "iam", reset=True)
    role = iam.create_role(
        RoleName="rotation",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("rotation.py", "def lambda_handler(event, context):\n    pass\n")
    function = _global_client(endpoint, "lambda").create_function(
        FunctionName="rotation",
        Runtime="python3.12",
        Role=role,
        Handler="rotation.lambda_handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    secrets = _global_client(endpoint, "secretsmanager")
    secrets.create_secret(Name="tap/global/aurora-master", SecretString='{"password": "p"}')
    return secrets, function


def test_gap5_unpatched_moto_invokes_the_function_and_loses_the_secret_value(
    endpoint: str,
) -> None:
    """Invoking needs Docker: each step fails (logged only), yet moto then makes the new,
    empty version current, so the master password can no longer be read (the next plan's
    ephemeral read of ``master_password_wo`` fails)."""
    secrets, function = _secret_with_rotation_function(endpoint)
    secrets.rotate_secret(
        SecretId="tap/global/aurora-master",
        RotationLambdaARN=function,
        RotationRules={"AutomaticallyAfterDays": 30},
    )
    with pytest.raises(ClientError, match="can't find the specified secret value"):
        secrets.get_secret_value(SecretId="tap/global/aurora-master")


def test_gap5_patch_records_the_schedule_without_invoking(endpoint: str) -> None:
    with patched(named("secretsmanager-rotation-without-invocation")):
        secrets, function = _secret_with_rotation_function(endpoint)
        secrets.rotate_secret(
            SecretId="tap/global/aurora-master",
            RotationLambdaARN=function,
            RotationRules={"AutomaticallyAfterDays": 30},
        )
        described = secrets.describe_secret(SecretId="tap/global/aurora-master")
        assert described["RotationEnabled"] is True
        assert described["RotationLambdaARN"] == function
        assert described["RotationRules"]["AutomaticallyAfterDays"] == 30
        value = secrets.get_secret_value(SecretId="tap/global/aurora-master")
        assert json.loads(value["SecretString"]) == {"password": "p"}  # versions untouched
        assert list(described["VersionIdsToStages"].values()) == [["AWSCURRENT"]]
        # Still like moto (and AWS): an unknown function is refused.
        with pytest.raises(ClientError, match="Resource not found"):
            secrets.rotate_secret(
                SecretId="tap/global/aurora-master",
                RotationLambdaARN=f"{function}-missing",
                RotationRules={"AutomaticallyAfterDays": 30},
            )
        secrets.cancel_rotate_secret(SecretId="tap/global/aurora-master")
        assert not secrets.describe_secret(SecretId="tap/global/aurora-master").get(
            "RotationEnabled"
        )


# --------------------------------------------------------------------------- reversibility


def test_the_secretsmanager_patches_are_undone() -> None:
    from moto.secretsmanager.models import SecretsManagerBackend

    from tooling.emulator.patches import secretsmanager

    names = ("cancel_rotate_secret", "rotate_secret")
    originals = {name: SecretsManagerBackend.__dict__[name] for name in names}
    with patched(secretsmanager.PATCHES):
        assert all(SecretsManagerBackend.__dict__[name] is not fn for name, fn in originals.items())
    assert all(SecretsManagerBackend.__dict__[name] is fn for name, fn in originals.items())

"""tooling.emulator.patches.iam: the patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 9: AWS
managed policies do not exist)."""

from __future__ import annotations

from functools import partial

import pytest
from botocore.exceptions import ClientError

from tests.tooling.emulator.conftest import client, named
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"

#: A client of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region=REGION, reset=True)


MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def _attach_monitoring_policy(endpoint: str) -> list[str]:
    iam = _client(endpoint, "iam")  # the reset creates the IAM backend again
    iam.create_role(RoleName="monitoring", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="monitoring", PolicyArn=MONITORING_POLICY)
    attached = iam.list_attached_role_policies(RoleName="monitoring")["AttachedPolicies"]
    return [policy["PolicyArn"] for policy in attached]


def test_gap9_unpatched_moto_has_no_aws_managed_policies(endpoint: str) -> None:
    with pytest.raises(ClientError, match="NoSuchEntity"):
        _attach_monitoring_policy(endpoint)


def test_gap9_patch_loads_aws_managed_policies(endpoint: str) -> None:
    with patched(named("iam-aws-managed-policies")):
        assert _attach_monitoring_policy(endpoint) == [MONITORING_POLICY]
    with pytest.raises(ClientError, match="NoSuchEntity"):  # undone
        _attach_monitoring_policy(endpoint)


def test_the_iam_patches_are_undone() -> None:
    from moto.core.config import default_user_config

    from tooling.emulator.patches import iam

    before = dict(default_user_config.get("iam", {}))
    with patched(iam.PATCHES):
        assert default_user_config["iam"]["load_aws_managed_policies"] is True
    assert default_user_config.get("iam", {}) == before

"""tooling.emulator.patches.kms: each patch is needed (unpatched moto has the gap of
docs/emulator.md) and closes it, seen through boto3 against moto's in-process server (gap 4: the
key rotation period is forgotten; gap R1: a key policy naming an IAM principal that does not
exist is accepted)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pytest

from tests.tooling.emulator.conftest import client, named, refusal_of
from tooling.emulator.patches import patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"

#: A client of a freshly reset moto server, unless called with ``reset=False``.
_client = partial(client, region=REGION, reset=True)


def _rotation(endpoint: str) -> dict[str, Any]:
    kms = _client(endpoint, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
    return dict(kms.get_key_rotation_status(KeyId=key))


def test_gap4_unpatched_moto_forgets_the_kms_rotation_period(endpoint: str) -> None:
    assert "RotationPeriodInDays" not in _rotation(endpoint)


def test_gap4_patch_returns_the_kms_rotation_period(endpoint: str) -> None:
    with patched(named("kms-rotation-period")):
        assert _rotation(endpoint)["RotationPeriodInDays"] == 180


# --------------------------------------------------------------------------- gap R1 (principals)

ACCOUNT = "123456789012"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/tap-deployer"
OPERATOR = f"arn:aws:iam::{ACCOUNT}:user/operator"
#: What AWS answers (400) to a key policy naming a principal that does not exist.
INVALID_PRINCIPALS = {
    "Code": "MalformedPolicyDocumentException",
    "Message": "Policy contains a statement with one or more invalid principals.",
}


def _key_policy(*principals: Any) -> str:
    """A key policy with one administration statement per ``Principal`` value."""
    statements = [
        {"Sid": f"S{n}", "Effect": "Allow", "Principal": principal, "Action": "kms:*",
         "Resource": "*"}
        for n, principal in enumerate(principals)
    ]  # fmt: skip
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_r1_unpatched_moto_accepts_key_policies_naming_missing_principals(
    endpoint: str,
) -> None:
    kms = _client(endpoint, "kms")
    key = kms.create_key(Policy=_key_policy({"AWS": DEPLOYER}))["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=_key_policy({"AWS": OPERATOR}))
    assert OPERATOR in kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": DEPLOYER},
        {"AWS": OPERATOR},
        {"AWS": [f"arn:aws:iam::{ACCOUNT}:root", DEPLOYER]},  # one missing is enough
        {"AWS": "arn:aws:iam::210987654321:role/tap-deployer"},  # another account's IAM
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"},  # no role is called "*"
    ],
)
def test_r1_patch_refuses_create_key_naming_a_missing_principal(
    endpoint: str, principal: dict[str, Any]
) -> None:
    with patched(named("kms-key-policy-principals-exist")):
        kms = _client(endpoint, "kms")
        refusal = refusal_of(kms.create_key, Policy=_key_policy(principal))
        assert kms.list_keys()["Keys"] == []
    assert refusal == (400, INVALID_PRINCIPALS)


def test_r1_patch_refuses_put_key_policy_naming_a_missing_principal(endpoint: str) -> None:
    with patched(named("kms-key-policy-principals-exist")):
        kms = _client(endpoint, "kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        before = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
        refusal = refusal_of(
            kms.put_key_policy,
            KeyId=key,
            PolicyName="default",
            Policy=_key_policy({"AWS": DEPLOYER}),
            BypassPolicyLockoutSafetyCheck=True,  # bypasses another check, not this one
        )
        after = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    assert refusal == (400, INVALID_PRINCIPALS)
    assert after == before


def test_r1_patch_accepts_principals_that_exist_and_those_it_does_not_resolve(
    endpoint: str,
) -> None:
    everything_valid = _key_policy(
        {"AWS": DEPLOYER},
        {"AWS": [OPERATOR, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT]},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/service-role/tap-rotation"},  # a role with a path
        {"Service": "logs.ap-southeast-1.amazonaws.com"},
        "*",
    )
    with patched(named("kms-key-policy-principals-exist")):
        iam = _client(endpoint, "iam")
        iam.create_role(RoleName="tap-deployer", AssumeRolePolicyDocument="{}")
        iam.create_role(
            RoleName="tap-rotation", Path="/service-role/", AssumeRolePolicyDocument="{}"
        )
        iam.create_user(UserName="operator")
        kms = client(endpoint, "kms", region=REGION, reset=False)
        key = kms.create_key(Policy=everything_valid)["KeyMetadata"]["KeyId"]
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=everything_valid)
        stored = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    assert json.loads(stored) == json.loads(everything_valid)


def test_r1_patch_refuses_a_principal_only_until_it_exists(endpoint: str) -> None:
    policy = _key_policy({"AWS": DEPLOYER})
    with patched(named("kms-key-policy-principals-exist")):
        kms = _client(endpoint, "kms")
        refused = refusal_of(kms.create_key, Policy=policy)
        iam = client(endpoint, "iam", region=REGION, reset=False)
        iam.create_role(RoleName="tap-deployer", AssumeRolePolicyDocument="{}")
        created = kms.create_key(Policy=policy)["KeyMetadata"]
        iam.delete_role(RoleName="tap-deployer")
        refused_again = refusal_of(
            kms.put_key_policy, KeyId=created["KeyId"], PolicyName="default", Policy=policy
        )
    assert refused == refused_again == (400, INVALID_PRINCIPALS)
    assert created["KeyState"] == "Enabled"


def test_r1_patch_answers_a_missing_key_before_its_policy(endpoint: str) -> None:
    missing_key = "11111111-2222-3333-4444-555555555555"
    with patched(named("kms-key-policy-principals-exist")):
        kms = _client(endpoint, "kms")
        status, error = refusal_of(
            kms.put_key_policy,
            KeyId=missing_key,
            PolicyName="default",
            Policy=_key_policy({"AWS": DEPLOYER}),
        )
    assert (status, error["Code"]) == (400, "NotFoundException")


# --------------------------------------------------------------------------- reversibility


def test_the_kms_patches_are_undone() -> None:
    from moto.kms.responses import KmsResponse

    from tooling.emulator.patches import kms

    names = ("enable_key_rotation", "get_key_rotation_status", "create_key", "put_key_policy")
    originals = {name: KmsResponse.__dict__[name] for name in names}
    with patched(kms.PATCHES):
        assert all(KmsResponse.__dict__[name] is not fn for name, fn in originals.items())
    assert all(KmsResponse.__dict__[name] is fn for name, fn in originals.items())

"""tooling.lifecycle.import_ids: the planned values and the state of ``terraform show -json`` of a
saved plan, and the import ID of an orphan made from its planned values by its type's rule."""

from __future__ import annotations

from typing import Any

from tests.tooling.lifecycle import recorded_ui as ui
from tooling.lifecycle.import_ids import (
    PlannedResource,
    PlannedResources,
    import_id,
    planned_resources,
)
from tooling.lifecycle.import_lookups import SecurityGroupRule

LAMBDA_SG = "aws_security_group.Network_LambdaSecurityGroup_AAAA1111"
TO_S3 = "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE"
MANAGED = "aws_vpc_security_group_egress_rule.Network_AlreadyManaged_0A0B0C0D"
BUCKET = "aws_s3_bucket.Storage_DataBucket_ABCD1234"
VERSIONING = "aws_s3_bucket_versioning.Storage_Versioning_1A2B"
INNER = 'module.data["eu"].aws_s3_bucket.Inner[0]'

TO_S3_VALUES = ui.RULE_TO_S3_PLANNED


def _resource(address: str, kind: str, values: dict[str, Any], mode: str = "managed") -> Any:
    name = address.rsplit(".", 1)[-1]
    return {"address": address, "mode": mode, "type": kind, "name": name, "values": values}


SHOWN: dict[str, Any] = {
    "format_version": "1.2",
    "terraform_version": "1.11.4",
    "planned_values": {
        "root_module": {
            "resources": [
                _resource(TO_S3, "aws_vpc_security_group_egress_rule", TO_S3_VALUES),
                # a bucket whose name is made of a data source: planned; its id is unknown
                _resource(BUCKET, "aws_s3_bucket", {"bucket": "tap-data-dev-123456789012"}),
                _resource(VERSIONING, "aws_s3_bucket_versioning", {"bucket": "tap-data-dev"}),
                _resource("aws_kms_key.Key", "aws_kms_key", {"description": "data"}),
            ],
            "child_modules": [
                {
                    "address": 'module.data["eu"]',
                    "resources": [_resource(INNER, "aws_s3_bucket", {"bucket": "tap-inner"})],
                }
            ],
        }
    },
    "prior_state": {
        "format_version": "1.0",
        "terraform_version": "1.11.4",
        "values": {
            "root_module": {
                "resources": [
                    _resource(LAMBDA_SG, "aws_security_group", {"id": "sg-6e3a643c25a2d1e92"}),
                    _resource(
                        MANAGED,
                        "aws_vpc_security_group_egress_rule",
                        {"id": "sgr-0managed", "security_group_rule_id": "sgr-0managed"},
                    ),
                    _resource(
                        "data.aws_caller_identity.CallerIdentity",
                        "aws_caller_identity",
                        {"account_id": "123456789012"},
                        mode="data",
                    ),
                ]
            }
        },
    },
}


class FakeResolver:
    """Answers security group rule lookups from what it is given."""

    def __init__(self, rules: dict[SecurityGroupRule, str] | None = None) -> None:
        self.rules = rules or {}

    def queue_url(self, name: str) -> str | None:
        return None

    def topic_arn(self, name: str) -> str | None:
        return None

    def secret_arn(self, name: str) -> str | None:
        return None

    def security_group_id(self, vpc_id: str, name: str) -> str | None:
        return None

    def security_group_rule_id(self, rule: SecurityGroupRule) -> str | None:
        return self.rules.get(rule)


TO_S3_RULE = SecurityGroupRule(
    "sg-6e3a643c25a2d1e92", True, "tcp", 443, 443, "prefix_list_id", "pl-4f2b99c38388708e9"
)


def test_the_managed_resources_of_the_plan_and_of_the_state_are_read_by_address() -> None:
    plan = planned_resources(SHOWN)
    assert sorted(plan.planned) == sorted([TO_S3, BUCKET, VERSIONING, "aws_kms_key.Key", INNER])
    assert plan.planned[INNER] == PlannedResource(INNER, "aws_s3_bucket", {"bucket": "tap-inner"})
    assert sorted(plan.state) == [LAMBDA_SG, MANAGED]  # the data source is no managed resource


def test_a_plan_without_a_state_has_no_state_resources() -> None:
    plan = planned_resources({"planned_values": SHOWN["planned_values"]})
    assert plan.state == {} and TO_S3 in plan.planned
    assert planned_resources({}) == PlannedResources()


def test_an_orphans_id_is_made_from_its_planned_values() -> None:
    plan = planned_resources(SHOWN)
    resolver = FakeResolver({TO_S3_RULE: "sgr-0to-s3"})
    assert import_id(TO_S3, plan, resolve=resolver) == "sgr-0to-s3"
    assert import_id(BUCKET, plan, resolve=resolver) == "tap-data-dev-123456789012"
    assert import_id(INNER, plan, resolve=resolver) == "tap-inner"  # in a module, indexed
    # the bucket's id is the versioning's too: another type is no other manager of it
    assert import_id(VERSIONING, plan, resolve=resolver) == "tap-data-dev"


def test_what_has_no_rule_or_is_not_planned_has_no_id() -> None:
    plan = planned_resources(SHOWN)
    assert import_id("aws_kms_key.Key", plan, resolve=FakeResolver()) is None  # a random key ID
    assert import_id("aws_s3_bucket.NotPlanned", plan, resolve=FakeResolver()) is None
    assert import_id(TO_S3, plan, resolve=FakeResolver()) is None  # not found in AWS


def test_an_object_another_address_of_the_state_manages_is_not_adopted() -> None:
    # GIVEN AWS answers with the ID of a rule the state has under another address
    plan = planned_resources(SHOWN)
    resolver = FakeResolver({TO_S3_RULE: "sgr-0managed"})
    # THEN it is not an orphan (the same rule configured twice): no import ID
    assert import_id(TO_S3, plan, resolve=resolver) is None

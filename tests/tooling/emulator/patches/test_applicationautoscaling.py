"""tooling.emulator.patches.applicationautoscaling: the patch is needed (unpatched moto has gap 12
of docs/emulator.md: scalable targets have no tags and ListTagsForResource fails) and closes it,
seen through boto3 against moto's in-process server."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.tooling.emulator.conftest import client, named, refusal_of
from tooling.emulator.patches import patched
from tooling.emulator.process import FAKE_CREDENTIALS

pytestmark = pytest.mark.moto

REGION = "eu-central-1"
ACCOUNT = "123456789012"


def _client(endpoint: str) -> Any:
    """An Application Auto Scaling client of the freshly reset moto server at ``endpoint``."""
    return client(endpoint, "application-autoscaling", region=REGION, reset=True)


#: The scalable target the tests register: a provisioned table's read capacity.
TABLE_READS = {
    "ServiceNamespace": "dynamodb",
    "ResourceId": "table/tap-prod-trades",
    "ScalableDimension": "dynamodb:table:ReadCapacityUnits",
}
TAGS = {"platform": "tap", "environment": "prod"}
#: The pattern of ``ResourceARN`` in TagResource, UntagResource and ListTagsForResource
#: (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_ListTagsForResource.html).
ARN_PATTERN = r"^arn:.+:application-autoscaling:.+:[0-9]+:scalable-target\/[a-zA-Z0-9-]+$"
#: A well-formed scalable target ARN that names no target.
UNKNOWN_ARN = (
    f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/"
    "no-such-scalable-target-in-this-account"
)
#: AWS's error (400) for an ARN that names no scalable target; the message is the API
#: reference's description of the error.
NOT_FOUND = {
    "Code": "ResourceNotFoundException",
    "Message": "The specified resource doesn't exist.",
}


def _register(aas: Any, **extra: Any) -> str:
    """Register ``TABLE_READS`` (1 to 10 units) with ``extra``; its ScalableTargetARN."""
    answer = aas.register_scalable_target(**TABLE_READS, MinCapacity=1, MaxCapacity=10, **extra)
    return str(answer["ScalableTargetARN"])


# --------------------------------------------------------------------------- gap 12 (tags)


def test_gap12_unpatched_moto_cannot_list_the_tags_of_a_scalable_target(endpoint: str) -> None:
    _client(endpoint)  # resets moto
    once = boto3.client(  # the SDK retries a 500; one attempt shows it
        "application-autoscaling",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS.access_key_id,
        aws_secret_access_key=FAKE_CREDENTIALS.secret_access_key,
        config=Config(retries={"total_max_attempts": 1}),
    )
    arn = _register(once, Tags=TAGS)
    # moto raises NotImplementedError inside the server: an HTML error page, not an AWS error
    status, error = refusal_of(once.list_tags_for_resource, ResourceARN=arn)
    assert (status, error["Code"]) == (500, "500")
    assert "500 Internal Server Error" in error["Message"]


def test_gap12_scalable_target_arns_are_the_ones_aws_documents(endpoint: str) -> None:
    aas = _client(endpoint)
    arn = _register(aas)
    (described,) = aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    assert described["ScalableTargetARN"] == arn
    assert re.fullmatch(ARN_PATTERN, arn)
    assert arn.startswith(f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/")


def test_gap12_patch_lists_the_tags_given_at_registration(endpoint: str) -> None:
    with patched(named("applicationautoscaling-tags")):
        aas = _client(endpoint)
        tagged = _register(aas, Tags=TAGS)
        untagged = aas.register_scalable_target(
            **{**TABLE_READS, "ScalableDimension": "dynamodb:table:WriteCapacityUnits"},
            MinCapacity=1,
            MaxCapacity=10,
        )["ScalableTargetARN"]
        assert aas.list_tags_for_resource(ResourceARN=tagged)["Tags"] == TAGS
        assert aas.list_tags_for_resource(ResourceARN=untagged)["Tags"] == {}


def test_gap12_patch_tags_and_untags_a_scalable_target(endpoint: str) -> None:
    with patched(named("applicationautoscaling-tags")):
        aas = _client(endpoint)
        arn = _register(aas, Tags=TAGS)
        aas.tag_resource(ResourceARN=arn, Tags={"environment": "staging", "owner": "trading"})
        after_tagging = aas.list_tags_for_resource(ResourceARN=arn)["Tags"]
        aas.untag_resource(ResourceARN=arn, TagKeys=["platform", "not-a-tag"])
        after_untagging = aas.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert after_tagging == {"platform": "tap", "environment": "staging", "owner": "trading"}
    assert after_untagging == {"environment": "staging", "owner": "trading"}


def test_gap12_patch_keeps_the_tags_when_a_target_is_registered_again(endpoint: str) -> None:
    with patched(named("applicationautoscaling-tags")):
        aas = _client(endpoint)
        arn = _register(aas, Tags=TAGS)
        again = aas.register_scalable_target(**TABLE_READS, MinCapacity=2, MaxCapacity=20)
        tags = aas.list_tags_for_resource(ResourceARN=arn)["Tags"]
        (target,) = aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    assert again["ScalableTargetARN"] == arn
    assert tags == TAGS
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 20)


@pytest.mark.parametrize(
    ("operation", "arguments"),
    [
        ("list_tags_for_resource", {}),
        ("tag_resource", {"Tags": TAGS}),
        ("untag_resource", {"TagKeys": ["platform"]}),
    ],
)
def test_gap12_patch_answers_resource_not_found_for_an_unknown_arn(
    endpoint: str, operation: str, arguments: dict[str, Any]
) -> None:
    with patched(named("applicationautoscaling-tags")):
        aas = _client(endpoint)
        _register(aas, Tags=TAGS)
        refusal = refusal_of(getattr(aas, operation), ResourceARN=UNKNOWN_ARN, **arguments)
    assert refusal == (400, NOT_FOUND)


def test_gap12_patch_answers_resource_not_found_in_another_region(endpoint: str) -> None:
    with patched(named("applicationautoscaling-tags")):
        arn = _register(_client(endpoint), Tags=TAGS)
        elsewhere = client(endpoint, "application-autoscaling", region="us-east-1", reset=False)
        refusal = refusal_of(elsewhere.list_tags_for_resource, ResourceARN=arn)
    assert refusal == (400, NOT_FOUND)


def test_gap12_patch_forgets_the_tags_of_a_deregistered_target(endpoint: str) -> None:
    with patched(named("applicationautoscaling-tags")):
        aas = _client(endpoint)
        arn = _register(aas, Tags=TAGS)
        aas.deregister_scalable_target(**TABLE_READS)
        refusal = refusal_of(aas.list_tags_for_resource, ResourceARN=arn)
        registered_again = _register(aas)
        tags_again = aas.list_tags_for_resource(ResourceARN=registered_again)["Tags"]
    assert refusal == (400, NOT_FOUND)
    assert tags_again == {}


# --------------------------------------------------------------------------- reversibility


def test_the_applicationautoscaling_patches_are_undone() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    from tooling.emulator.patches import applicationautoscaling

    register = ApplicationAutoScalingResponse.__dict__["register_scalable_target"]
    added = ("tag_resource", "untag_resource", "list_tags_for_resource")
    with patched(applicationautoscaling.PATCHES):
        assert ApplicationAutoScalingResponse.__dict__["register_scalable_target"] is not register
        assert all(name in ApplicationAutoScalingResponse.__dict__ for name in added)
    assert ApplicationAutoScalingResponse.__dict__["register_scalable_target"] is register
    assert not any(name in ApplicationAutoScalingResponse.__dict__ for name in added)

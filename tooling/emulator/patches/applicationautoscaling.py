"""Compatibility patches of moto's Application Auto Scaling: the tags of scalable targets."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from tooling.emulator.patches.base import CompatPatch, Undo, add, compat_patch, replace, undo_all

if TYPE_CHECKING:
    from moto.applicationautoscaling.models import FakeScalableTarget
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

__all__ = ["PATCHES", "TARGET_NOT_FOUND", "scalable_target_tags"]

#: The message of the ResourceNotFoundException answered for an ARN naming no scalable target:
#: the API reference's description of that error.
TARGET_NOT_FOUND = "The specified resource doesn't exist."

#: Attribute of moto's ``FakeScalableTarget`` holding its tags (key -> value). The tags live on
#: the target, so a deregistered target takes them along and a reset of moto drops them.
_TAGS = "_tap_tags"


@compat_patch("applicationautoscaling-tags", gap="12")
def scalable_target_tags() -> Undo:
    """docs/emulator.md, gap 12: scalable targets have no tags, and reading them fails.

    moto implements neither TagResource, UntagResource nor ListTagsForResource (each answers
    HTTP 500) and drops the ``Tags`` of RegisterScalableTarget. The AWS provider lists the tags
    of every ``aws_appautoscaling_target`` it creates (by its ``ScalableTargetARN``) and keeps
    retrying the 500, so a deploy of a profile with provisioned, auto scaled tables hangs.

    The patch keeps a target's tags, as AWS documents them: RegisterScalableTarget tags the
    target it creates ("Use this parameter to tag the scalable target when it is created. To
    tag an existing scalable target, use the TagResource operation.",
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html),
    so re-registering an existing target leaves its tags as they are; TagResource adds tags
    and replaces the value of an existing key
    (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TagResource.html);
    UntagResource removes the given keys
    (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_UntagResource.html);
    ListTagsForResource returns them
    (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_ListTagsForResource.html).
    All three find the target by its ARN among the targets of the request's account and
    Region, and answer 400 ``ResourceNotFoundException`` for an ARN naming none, as those pages
    document; a deregistered target is gone, with its tags. Not encoded: the validation of tag
    keys and values and the tag quota (``ValidationException``, ``TooManyTagsException``).
    """
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

    return undo_all(
        [
            replace(ApplicationAutoScalingResponse, "register_scalable_target", _make_register),
            add(ApplicationAutoScalingResponse, "tag_resource", _tag_resource),
            add(ApplicationAutoScalingResponse, "untag_resource", _untag_resource),
            add(ApplicationAutoScalingResponse, "list_tags_for_resource", _list_tags_for_resource),
        ]
    )


def _target_of(response: ApplicationAutoScalingResponse, arn: str) -> FakeScalableTarget:
    """The scalable target of the request's account and Region whose ARN is ``arn``."""
    from moto.core.exceptions import JsonRESTError

    for by_resource_id in response.applicationautoscaling_backend.targets.values():
        for target in by_resource_id.values():
            if target.arn == arn:
                return target
    raise JsonRESTError("ResourceNotFoundException", TARGET_NOT_FOUND)


def _tags_of(target: FakeScalableTarget) -> dict[str, str]:
    """The tags of ``target`` (the dictionary itself, to change them)."""
    tags: dict[str, str] | None = getattr(target, _TAGS, None)
    if tags is None:
        tags = {}
        setattr(target, _TAGS, tags)
    return tags


def _make_register(original: Callable[..., str]) -> Callable[..., str]:
    """RegisterScalableTarget that tags the target it creates with the request's ``Tags``."""

    @functools.wraps(original)
    def register_scalable_target(self: ApplicationAutoScalingResponse) -> str:
        existing = self.applicationautoscaling_backend.describe_scalable_targets(
            self._get_param("ServiceNamespace"),
            [self._get_param("ResourceId")],
            self._get_param("ScalableDimension"),
        )
        result = original(self)
        if not existing:
            target = _target_of(self, json.loads(result)["ScalableTargetARN"])
            _tags_of(target).update(self._get_param("Tags") or {})
        return result

    return register_scalable_target


def _tag_resource(self: ApplicationAutoScalingResponse) -> str:
    """TagResource: adds the tags, replacing the value of a key the target has."""
    _tags_of(_target_of(self, self._get_param("ResourceARN"))).update(self._get_param("Tags") or {})
    return "{}"


def _untag_resource(self: ApplicationAutoScalingResponse) -> str:
    """UntagResource: removes the tags with the given keys (skipping keys the target lacks)."""
    tags = _tags_of(_target_of(self, self._get_param("ResourceARN")))
    for key in self._get_param("TagKeys") or []:
        tags.pop(key, None)
    return "{}"


def _list_tags_for_resource(self: ApplicationAutoScalingResponse) -> str:
    """ListTagsForResource: the target's tags."""
    return json.dumps({"Tags": _tags_of(_target_of(self, self._get_param("ResourceARN")))})


#: Application Auto Scaling's patches, in the order they are applied.
PATCHES: tuple[CompatPatch, ...] = (scalable_target_tags,)

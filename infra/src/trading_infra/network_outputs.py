"""The network stack's outputs: what it publishes, and what the application stack reads back.

Both sides use :class:`NetworkOutputs`, so an output's name is written once: the field. The
names are part of the deployed contract (a renamed output breaks every deployed reader of that
state until both stacks are applied again), which is why the data key's output keeps the name
``kms_key_arn``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from cdktf import DataTerraformRemoteStateS3, TerraformOutput, TerraformStack


@dataclass(frozen=True)
class NetworkOutputs:
    """The network of one environment in one region, as the application stack needs it.

    Values are Terraform tokens: resource attributes in the network stack, remote-state reads
    in the application stack.
    """

    vpc_id: str
    public_subnet_ids: list[str]
    private_subnet_ids: list[str]
    lambda_security_group_id: str
    database_security_group_id: str
    #: The data key (components/keys.py).
    kms_key_arn: str
    logs_kms_key_arn: str
    secrets_kms_key_arn: str
    #: Only where an existing master secret is rotated by the account's own function.
    rotation_security_group_id: str | None = None

    def publish(self, stack: TerraformStack) -> None:
        """One Terraform output per field (an absent optional one is not published)."""
        for name, value in self._values().items():
            if value is not None:
                TerraformOutput(stack, name, value=value)

    @classmethod
    def read(cls, remote: DataTerraformRemoteStateS3) -> NetworkOutputs:
        """The outputs of the network stack whose state ``remote`` reads (as tokens).

        The optional outputs are not read: no reader of them exists, and a read of an output
        the state does not have fails the plan.
        """
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if field.default is not dataclasses.MISSING:
                continue
            kind = _FIELD_TYPES[field.name]
            values[field.name] = (
                remote.get_list(field.name) if kind == list[str] else remote.get_string(field.name)
            )
        return cls(**values)

    @staticmethod
    def expression(remote: DataTerraformRemoteStateS3, name: str) -> str:
        """The HCL expression (without ``${}``) of output ``name`` of ``remote``, for use inside
        condition expressions. ``name`` must be a field of :class:`NetworkOutputs`."""
        if name not in _FIELD_TYPES:
            raise ValueError(f"{name!r} is not an output of the network stack ({OUTPUT_NAMES})")
        return f"data.terraform_remote_state.{remote.friendly_unique_id}.outputs.{name}"

    def _values(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


_FIELD_TYPES: dict[str, Any] = typing.get_type_hints(NetworkOutputs)
#: Every output the network stack may publish, in declaration order.
OUTPUT_NAMES: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(NetworkOutputs))

"""Plan-time checks on the values a stack reads from other stacks' states.

The state bucket is a trust boundary (docs/security.md): whoever can write it could point the
application stack at another account's key or another VPC's subnets and security groups. So
every value read through ``terraform_remote_state`` is checked before it is used, and a
tampered state fails the plan: a key ARN must name this account (caller identity: moto's
default account on the local target) and the expected region; the network's VPC id must
resolve in this region to a VPC of this account with the configured CIDR, and its subnets and
security groups must belong to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import (
    DataTerraformRemoteStateS3,
    Postcondition,
    Precondition,
    TerraformResourceLifecycle,
)
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_security_groups import (
    DataAwsSecurityGroups,
    DataAwsSecurityGroupsFilter,
)
from cdktf_cdktf_provider_aws.data_aws_subnets import DataAwsSubnets, DataAwsSubnetsFilter
from cdktf_cdktf_provider_aws.data_aws_vpc import DataAwsVpc
from constructs import Construct

from trading_infra.config import AZ_COUNT, RegionConfig
from trading_infra.network_outputs import NetworkOutputs


@dataclass(frozen=True)
class AccountLookups:
    """HCL addresses (not tokens) of the stack's own account and partition lookups, for use
    inside condition expressions: e.g. ``data.aws_caller_identity.CallerIdentity.account_id``."""

    account: str
    partition: str


def key_arn_condition(arn: str, region: str, lookups: AccountLookups) -> Precondition:
    """``arn`` (an HCL expression) is a KMS key of this account in ``region``."""
    prefix = f"arn:${{{lookups.partition}}}:kms:{region}:${{{lookups.account}}}:key/"
    return Precondition(
        condition=f'${{startswith({arn}, "{prefix}")}}',
        error_message=(
            f"The KMS key ARN read from another stack's state is not a key of this "
            f"account in {region} (expected {prefix}...): the state was changed or belongs "
            "to another environment. Restore the state from its bucket's versions."
        ),
    )


@dataclass(frozen=True)
class NetworkStateCheckProps:
    """The network stack's state as read by the application (``remote``, its ``outputs``), and
    what it must describe."""

    remote: DataTerraformRemoteStateS3
    outputs: NetworkOutputs
    region: RegionConfig
    lookups: AccountLookups


class NetworkStateCheck(Construct):
    """Fail the plan when the network's state does not describe this environment's network.

    A precondition on the VPC lookup checks the data key ARN; the postconditions of the VPC,
    subnet and security group lookups check the VPC's CIDR and owner, that the AZ_COUNT private
    subnets are in it, and that both security groups are.
    """

    def __init__(self, scope: Construct, id_: str, *, props: NetworkStateCheckProps) -> None:
        super().__init__(scope, id_)
        remote, region, lookups = props.remote, props.region, props.lookups

        def output(name: str) -> str:
            return NetworkOutputs.expression(remote, name)

        vpc = DataAwsVpc(
            self,
            "Vpc",
            id=props.outputs.vpc_id,
            lifecycle=TerraformResourceLifecycle(
                precondition=[key_arn_condition(output("kms_key_arn"), region.name, lookups)],
                postcondition=[
                    Postcondition(
                        condition=(
                            f'${{self.cidr_block == "{region.vpc_cidr}" && '
                            f"self.owner_id == {lookups.account}}}"
                        ),
                        error_message=(
                            f"The VPC read from the network stack's state is not this "
                            f"environment's VPC ({region.vpc_cidr} in this account, "
                            f"{region.name}): the state was changed or belongs elsewhere."
                        ),
                    )
                ],
            ),
        )
        in_vpc = [DataAwsSubnetsFilter(name="vpc-id", values=[vpc.id])]
        DataAwsSubnets(
            self,
            "Subnets",
            filter=in_vpc,
            lifecycle=TerraformResourceLifecycle(
                postcondition=[
                    Postcondition(
                        condition=(
                            f"${{length({output('private_subnet_ids')}) == {AZ_COUNT} && "
                            f"length(setsubtract({output('private_subnet_ids')}, self.ids)) == 0}}"
                        ),
                        error_message=(
                            "The private subnets read from the network stack's state are not "
                            f"{AZ_COUNT} subnets of this environment's VPC: the state was changed."
                        ),
                    )
                ],
            ),
        )
        DataAwsSecurityGroups(
            self,
            "SecurityGroups",
            filter=[DataAwsSecurityGroupsFilter(name="vpc-id", values=[vpc.id])],
            lifecycle=TerraformResourceLifecycle(
                postcondition=[
                    Postcondition(
                        condition=(
                            f"${{contains(self.ids, {output('lambda_security_group_id')}) && "
                            f"contains(self.ids, {output('database_security_group_id')})}}"
                        ),
                        error_message=(
                            "The security groups read from the network stack's state are not "
                            "groups of this environment's VPC: the state was changed."
                        ),
                    )
                ],
            ),
        )


@dataclass(frozen=True)
class ReplicaKeyCheckProps:
    """Another region's network state, read for its data key (a global table replica's key)."""

    remote: DataTerraformRemoteStateS3
    region: str
    lookups: AccountLookups


class ReplicaKeyCheck(Construct):
    """Fail the plan unless the replica region's key ARN is a key of this account there."""

    def __init__(self, scope: Construct, id_: str, *, props: ReplicaKeyCheckProps) -> None:
        super().__init__(scope, id_)
        arn = NetworkOutputs.expression(props.remote, "kms_key_arn")
        # A lookup that is always there, to carry the precondition.
        DataAwsCallerIdentity(
            self,
            "CallerIdentity",
            lifecycle=TerraformResourceLifecycle(
                precondition=[key_arn_condition(arn, props.region, props.lookups)]
            ),
        )

"""What every function's execution role needs to run: its logs, VPC network interfaces, traces,
dead-letter queue and data key, before anything its code calls.

None of these statements is limited to the function's code (``lambda:SourceFunctionArn``):
Lambda itself makes these calls with the role, outside the execution environment
(trading_infra.checks.lambda_service_calls).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Token

from trading_infra.components.grants import PolicyStatement
from trading_infra.components.keys import via_service
from trading_infra.config import AZ_COUNT
from trading_infra.context import RegionContext

#: The only actions granted on ``"Resource": "*"``, each with AWS's reason. The IAM tests
#: (tests/infra/test_iam_least_privilege.py) fail on any other unscoped action.
UNSCOPED_ACTIONS: dict[str, str] = {
    "ec2:DescribeNetworkInterfaces": (
        "EC2 Describe* actions do not support resource-level permissions (Service Authorization "
        "Reference, Amazon EC2: resource types column is empty); Lambda needs it for VPC ENIs."
    ),
    "ec2:DescribeSubnets": (
        "EC2 Describe* actions do not support resource-level permissions; Lambda needs it to "
        "place the function's ENIs in the configured subnets."
    ),
    "xray:PutTraceSegments": (
        "AWS X-Ray defines no resource types for this action (Service Authorization Reference, "
        "AWS X-Ray), so it can only be granted on *."
    ),
    "xray:PutTelemetryRecords": (
        "AWS X-Ray defines no resource types for this action, so it can only be granted on *."
    ),
}


@dataclass(frozen=True)
class FunctionPlacement:
    """The private subnets (a list token of AZ_COUNT ids) and security groups of a function."""

    subnet_ids: list[str]
    security_group_ids: list[str]

    @property
    def subnets(self) -> list[str]:
        # The ids come from the network stack's state as one list token; its elements are
        # addressed one by one (there is one private subnet per AZ).
        return [Token.as_string(Fn.element(self.subnet_ids, i)) for i in range(AZ_COUNT)]

    @property
    def groups(self) -> list[str]:
        return list(self.security_group_ids)


@dataclass(frozen=True)
class RuntimeResources:
    """The function's own resources its role is used on, and the services that use its data key
    on its behalf (sorted)."""

    log_group_arn: str
    dead_letter_queue_arn: str
    data_key_arn: str
    key_services: tuple[str, ...]


def runtime_statements(
    context: RegionContext, resources: RuntimeResources, placement: FunctionPlacement
) -> list[PolicyStatement]:
    """The role's statements for running the function, in the order the policy lists them."""
    log_group = resources.log_group_arn
    return [
        PolicyStatement(
            "WriteOwnLogs",
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            (log_group, f"{log_group}:*"),
        ),
        *network_interface_statements(context, placement),
        PolicyStatement(
            "WriteTraces", ("xray:PutTelemetryRecords", "xray:PutTraceSegments"), ("*",)
        ),
        PolicyStatement(
            "SendFailedEventsToDeadLetterQueue",
            ("sqs:SendMessage",),
            (resources.dead_letter_queue_arn,),
        ),
        # The data key is used by AWS services on the function's behalf, never directly:
        # Lambda (environment variables), SQS (the dead-letter queue) and the services the
        # function's grants name (S3 objects, DynamoDB tables).
        PolicyStatement(
            "UseDataKeyThroughServices",
            ("kms:Decrypt", "kms:GenerateDataKey"),
            (resources.data_key_arn,),
            {
                "StringEquals": {
                    "kms:ViaService": [via_service(context, s) for s in resources.key_services]
                }
            },
        ),
    ]


def network_interface_statements(
    context: RegionContext, placement: FunctionPlacement
) -> list[PolicyStatement]:
    """The VPC network interfaces, as Lambda documents them for an execution role of one's own
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html, "Required IAM
    permissions"; the actions of the AWS managed policy AWSLambdaVPCAccessExecutionRole,
    https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html):

    * ``ec2:DescribeNetworkInterfaces`` "only works if it's allowed on all resources"
      (``"Resource": "*"``), and EC2 ``Describe*`` actions have no resource types:
      ``ec2:DescribeSubnets`` is on ``*`` too (:data:`UNSCOPED_ACTIONS`);
    * ``ec2:DeleteNetworkInterface``: "If you don't specify a resource ID ... your
      function may not be able to access the VPC. Either specify a unique resource ID, or
      include all resource IDs"; the interfaces' IDs are Lambda's to choose, so all network
      interfaces of the account and region, without conditions. The documentation names no
      condition key Lambda's permission check (at CreateFunction and
      UpdateFunctionConfiguration) can satisfy, and a role whose network-interface
      statements carried ``ec2:Subnet`` conditions has been reported to fail that check
      (the check is made on ``network-interface/*``): no statement here has one.
      ``AssignPrivateIpAddresses`` and ``UnassignPrivateIpAddresses`` act on the same
      interfaces and are granted alike;
    * ``ec2:CreateNetworkInterface`` is evaluated against the new interface, its subnet
      and its security groups, each of which must be allowed (Service Authorization
      Reference, Amazon EC2): the interface on ``network-interface/*``, and only the
      platform's private subnets and the functions' security groups, by ARN. That keeps
      the interfaces in the platform's subnets without a condition key.
    """
    subnet_arns = [context.arn("ec2", f"subnet/{subnet}") for subnet in placement.subnets]
    group_arns = [context.arn("ec2", f"security-group/{group}") for group in placement.groups]
    network_interfaces = context.arn("ec2", "network-interface/*")
    return [
        # With the next statement: the new interface, in a platform subnet only.
        PolicyStatement(
            "CreateNetworkInterfacesInPlatformSubnets",
            ("ec2:CreateNetworkInterface",),
            (network_interfaces,),
        ),
        PolicyStatement(
            "UsePlatformSubnetsAndSecurityGroups",
            ("ec2:CreateNetworkInterface",),
            (*subnet_arns, *group_arns),
        ),
        PolicyStatement(
            "ManageNetworkInterfaces",
            (
                "ec2:AssignPrivateIpAddresses",
                "ec2:DeleteNetworkInterface",
                "ec2:UnassignPrivateIpAddresses",
            ),
            (network_interfaces,),
        ),
        PolicyStatement(
            "DescribeVpcNetwork",
            ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"),
            ("*",),
        ),
    ]

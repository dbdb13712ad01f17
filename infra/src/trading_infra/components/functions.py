"""A Lambda function of one service: its zip, role, log group, dead-letter queue and settings."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdktf import AssetType, Fn, TerraformAsset, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
from cdktf_cdktf_provider_aws.lambda_function_event_invoke_config import (
    LambdaFunctionEventInvokeConfig,
)
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from trading_infra.components.keys import via_service
from trading_infra.config import AZ_COUNT
from trading_infra.context import RegionContext, policy_document

RUNTIME = "python3.12"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS maximum: two weeks to replay failed events
ASYNC_MAX_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE_SECONDS = 6 * 3600

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
class LambdaArtifact:
    """A built zip (dist/<service>.zip) and the hash Terraform compares."""

    path: Path

    @property
    def source_code_hash(self) -> str:
        """base64(sha256(zip bytes)): changes exactly when the zip's bytes change."""
        digest = hashlib.sha256(self.path.read_bytes()).digest()
        return base64.b64encode(digest).decode("ascii")


class ServiceFunction(Construct):
    """A python3.12 Lambda in the private subnets with its own least-privilege role.

    Attributes:
        function, role, log_group, dead_letter_queue.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        context: RegionContext,
        service: str,
        artifact: LambdaArtifact,
        handler: str,
        environment: dict[str, str],
        key_arn: str,
        logs_key_arn: str,
        subnet_ids: list[str],
        security_group_ids: list[str],
        statements: list[dict[str, Any]],
    ) -> None:
        """``key_arn`` (the data key) encrypts the environment variables and the dead-letter
        queue, ``logs_key_arn`` the log group; ``statements`` are what the function's code calls
        (each is limited to calls made by this function, ``lambda:SourceFunctionArn``)."""
        super().__init__(scope, id_)
        namer = context.namer
        profile = context.environment.profile
        function_name = namer.name(service.replace("_", "-"), kind="lambda_function")

        self.log_group = CloudwatchLogGroup(
            self,
            "LogGroup",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=profile.log_retention_days,
            kms_key_id=logs_key_arn,
        )
        self.dead_letter_queue = SqsQueue(
            self,
            "DeadLetterQueue",
            name=namer.name(f"{service.replace('_', '-')}-dlq", kind="sqs_queue"),
            kms_master_key_id=key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
        )
        SqsQueuePolicy(
            self,
            "DeadLetterQueuePolicy",
            queue_url=self.dead_letter_queue.url,
            policy=policy_document(
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": self.dead_letter_queue.arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ),
        )
        # Built from the name: a reference to the function resource (which depends on the role's
        # policy) would make a Terraform cycle.
        self.function_arn = context.arn("lambda", f"function:{function_name}")
        self.role = IamRole(
            self,
            "Role",
            name=namer.name(service.replace("_", "-"), kind="iam_role", regional=True),
            description=f"Execution role of the {service} Lambda function",
            # aws:SourceAccount only: Lambda documents aws:SourceArn for policies where a function
            # is the target, not for assuming its execution role; the role's credentials are tied
            # to this function by lambda:SourceFunctionArn in its policy instead.
            assume_role_policy=context.service_trust_policy("lambda.amazonaws.com"),
        )
        policy = IamRolePolicy(
            self,
            "Policy",
            role=self.role.id,
            name=namer.name(f"{service.replace('_', '-')}-policy", kind="iam_role"),
            policy=policy_document(
                *self._runtime_statements(
                    context,
                    key_arn,
                    network=_NetworkPlacement(subnet_ids, security_group_ids),
                    used_services=_services_of(statements),
                ),
                *(self._from_own_code(statement) for statement in statements),
            ),
        )
        asset = TerraformAsset(self, "Code", path=str(artifact.path), type=AssetType.FILE)
        self.function = LambdaFunction(
            self,
            "Function",
            function_name=function_name,
            description=f"{context.platform.name} {service}",
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=[context.platform.lambda_architecture],
            handler=handler,
            filename=asset.path,
            source_code_hash=artifact.source_code_hash,
            memory_size=profile.lambda_memory_mib,
            timeout=profile.lambda_timeout_seconds,
            kms_key_arn=key_arn,
            environment={"variables": environment},
            tracing_config={"mode": "Active"},
            vpc_config={"subnet_ids": subnet_ids, "security_group_ids": security_group_ids},
            dead_letter_config={"target_arn": self.dead_letter_queue.arn},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            depends_on=[self.log_group, policy],
        )
        LambdaFunctionEventInvokeConfig(
            self,
            "AsyncInvokeConfig",
            function_name=self.function.function_name,
            maximum_retry_attempts=ASYNC_MAX_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
            destination_config={"on_failure": {"destination": self.dead_letter_queue.arn}},
        )

    def _from_own_code(self, statement: dict[str, Any]) -> dict[str, Any]:
        """``statement`` for calls of this function's code only: Lambda puts the calling
        function's ARN into the credentials of requests from its execution environment
        (``lambda:SourceFunctionArn``), so another function given the same role gets none of it.
        """
        condition = dict(statement.get("Condition", {}))
        condition["ArnEquals"] = {
            **condition.get("ArnEquals", {}),
            "lambda:SourceFunctionArn": self.function_arn,
        }
        return {**statement, "Condition": condition}

    def _runtime_statements(
        self,
        context: RegionContext,
        key_arn: str,
        *,
        network: _NetworkPlacement,
        used_services: frozenset[str],
    ) -> list[dict[str, Any]]:
        """What every function needs to run: its logs, VPC ENIs, traces, DLQ and data key.

        The VPC network interfaces follow what Lambda documents for an execution role of
        one's own (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html,
        "Required IAM permissions"; the actions of the AWS managed policy
        AWSLambdaVPCAccessExecutionRole,
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
        subnet_arns = [context.arn("ec2", f"subnet/{subnet}") for subnet in network.subnets]
        group_arns = [context.arn("ec2", f"security-group/{group}") for group in network.groups]
        network_interfaces = context.arn("ec2", "network-interface/*")
        log_group_arn = self.log_group.arn
        # The data key is used by AWS services on the function's behalf, never directly:
        # Lambda (environment variables), SQS (the dead-letter queue) and the services the
        # function's code calls (S3 objects, DynamoDB tables).
        key_services = sorted({"lambda", "sqs"} | (used_services & {"dynamodb", "s3"}))
        return [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            },
            {
                # With the next statement: the new interface, in a platform subnet only.
                "Sid": "CreateNetworkInterfacesInPlatformSubnets",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": network_interfaces,
            },
            {
                "Sid": "UsePlatformSubnetsAndSecurityGroups",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [*subnet_arns, *group_arns],
            },
            {
                "Sid": "ManageNetworkInterfaces",
                "Effect": "Allow",
                "Action": [
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:DeleteNetworkInterface",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                "Resource": network_interfaces,
            },
            {
                "Sid": "DescribeVpcNetwork",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Resource": "*",
            },
            {
                "Sid": "WriteTraces",
                "Effect": "Allow",
                "Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                "Resource": "*",
            },
            {
                "Sid": "SendFailedEventsToDeadLetterQueue",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": self.dead_letter_queue.arn,
            },
            {
                "Sid": "UseDataKeyThroughServices",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": [via_service(context, s) for s in key_services]
                    }
                },
            },
        ]


@dataclass(frozen=True)
class _NetworkPlacement:
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


def _services_of(statements: list[dict[str, Any]]) -> frozenset[str]:
    """The AWS services whose actions ``statements`` grant (``s3``, ``dynamodb``, ...)."""
    actions = [
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    return frozenset(action.split(":")[0] for action in actions)

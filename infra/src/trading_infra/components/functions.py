"""A Lambda function of one service: its zip, role, log group, dead-letter queue and settings.

A function starts with what it needs to run (:mod:`trading_infra.components.runtime_policy`);
everything its code may call is granted afterwards by the component that owns the resource
(``tables.grant_trade_reads(function)``), which also tells the code where the resource is
(an environment variable) and lets the resource's service use the key it is encrypted with.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, TerraformAsset
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

from trading_infra.components.grants import Grantee, PolicyStatement
from trading_infra.components.keys import RegionKey
from trading_infra.components.runtime_policy import (
    UNSCOPED_ACTIONS,
    FunctionPlacement,
    RuntimeResources,
    runtime_statements,
)
from trading_infra.context import RegionContext, policy_document

__all__ = [
    "ASYNC_MAX_EVENT_AGE_SECONDS",
    "ASYNC_MAX_RETRY_ATTEMPTS",
    "DLQ_RETENTION_SECONDS",
    "RUNTIME",
    "UNSCOPED_ACTIONS",
    "FunctionPlacement",
    "LambdaArtifact",
    "ServiceFunction",
    "ServiceFunctionProps",
]

RUNTIME = "python3.12"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # SQS maximum: two weeks to replay failed events
ASYNC_MAX_RETRY_ATTEMPTS = 2
ASYNC_MAX_EVENT_AGE_SECONDS = 6 * 3600
#: The services that use a function's data key for every function: Lambda (its environment
#: variables) and SQS (its dead-letter queue).
OWN_KEY_SERVICES = ("lambda", "sqs")


@dataclass(frozen=True)
class LambdaArtifact:
    """A built zip (dist/<service>.zip) and the hash Terraform compares."""

    path: Path

    @property
    def source_code_hash(self) -> str:
        """base64(sha256(zip bytes)): changes exactly when the zip's bytes change."""
        digest = hashlib.sha256(self.path.read_bytes()).digest()
        return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class ServiceFunctionProps:
    """A function of ``service`` (the name of its role, log group and queue) running
    ``handler`` of ``artifact``.

    ``data_key`` encrypts the environment variables and the dead-letter queue, ``logs_key``
    the log group; ``placement`` is where its network interfaces go.
    """

    context: RegionContext
    service: str
    artifact: LambdaArtifact
    handler: str
    data_key: RegionKey
    logs_key: RegionKey
    placement: FunctionPlacement
    log_level: str = "INFO"


class ServiceFunction(Construct):
    """A python3.12 Lambda in the private subnets with its own least-privilege role.

    Attributes:
        function, role, log_group, dead_letter_queue, function_arn (built from the name).
    """

    def __init__(self, scope: Construct, id_: str, *, props: ServiceFunctionProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        context = props.context
        self._label = props.service.replace("_", "-")
        self._function_name = context.namer.name(self._label, kind="lambda_function")
        # Built from the name: a reference to the function resource (which depends on the role's
        # policy) would make a Terraform cycle.
        self.function_arn = context.arn("lambda", f"function:{self._function_name}")
        self._code_statements: list[PolicyStatement] = []
        self._key_services: set[str] = set(OWN_KEY_SERVICES)
        self._environment = {"POWERTOOLS_SERVICE_NAME": props.service, "LOG_LEVEL": props.log_level}
        self.log_group = self._declare_log_group()
        self.dead_letter_queue = self._declare_dead_letter_queue()
        self.role = self._declare_role()
        self._policy = IamRolePolicy(
            self,
            "Policy",
            role=self.role.id,
            name=context.namer.name(f"{self._label}-policy", kind="iam_role"),
            policy=self._policy_document(),
        )
        self.function = self._declare_function()
        self._declare_async_invocation()

    # --- grants ----------------------------------------------------------------------------

    def add_to_role_policy(self, statement: PolicyStatement) -> None:
        """Allow ``statement`` to this function's code only: Lambda puts the calling
        function's ARN into the credentials of requests from its execution environment
        (``lambda:SourceFunctionArn``), so another function given the same role gets none of it.
        """
        conditions = dict(statement.conditions)
        conditions["ArnEquals"] = {
            **conditions.get("ArnEquals", {}),
            "lambda:SourceFunctionArn": self.function_arn,
        }
        self._code_statements.append(dataclasses.replace(statement, conditions=conditions))
        self._policy.policy = self._policy_document()

    def add_environment(self, name: str, value: str) -> None:
        """Set the environment variable ``name``; a second grant naming it must agree."""
        if self._environment.get(name, value) != value:
            raise ValueError(f"{self._props.service}: two grants set {name} to different values")
        self._environment[name] = value
        self.function.put_environment(variables=dict(self._environment))

    def add_key_use(self, key_arn: str, service: str) -> None:
        """Let ``service`` use the function's data key on its behalf (``kms:ViaService``).

        Every resource the platform's functions use is encrypted with the region's data key,
        which the function's own statement covers; a resource under another key would need a
        statement of its own, so it is refused here rather than granted on the wrong key.
        """
        if key_arn != self._props.data_key.arn:
            raise ValueError(
                f"{self._props.service}: {service} encrypts with a key other than the "
                "function's data key; only the data key's use is granted to functions"
            )
        self._key_services.add(service)
        self._policy.policy = self._policy_document()

    def grant_invoke(self, grantee: Grantee, *, sid: str) -> None:
        """Let ``grantee``'s code invoke this function (by its ARN built from its name)."""
        grantee.add_to_role_policy(
            PolicyStatement(sid, ("lambda:InvokeFunction",), (self.function_arn,))
        )

    # --- resources -------------------------------------------------------------------------

    def _policy_document(self) -> str:
        """What the function needs to run, then what its code calls."""
        runtime = runtime_statements(
            self._props.context,
            RuntimeResources(
                log_group_arn=self._log_group_arn,
                dead_letter_queue_arn=self._dead_letter_queue_arn,
                data_key_arn=self._props.data_key.arn,
                key_services=tuple(sorted(self._key_services)),
            ),
            self._props.placement,
        )
        return policy_document(*(s.to_json() for s in (*runtime, *self._code_statements)))

    def _declare_log_group(self) -> CloudwatchLogGroup:
        profile = self._props.context.environment.profile
        log_group = CloudwatchLogGroup(
            self,
            "LogGroup",
            name=f"/aws/lambda/{self._function_name}",
            retention_in_days=profile.log_retention_days,
            kms_key_id=self._props.logs_key.arn,
        )
        self._log_group_arn = log_group.arn
        return log_group

    def _declare_dead_letter_queue(self) -> SqsQueue:
        queue = SqsQueue(
            self,
            "DeadLetterQueue",
            name=self._props.context.namer.name(f"{self._label}-dlq", kind="sqs_queue"),
            kms_master_key_id=self._props.data_key.arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
        )
        self._dead_letter_queue_arn = queue.arn
        SqsQueuePolicy(
            self,
            "DeadLetterQueuePolicy",
            queue_url=queue.url,
            policy=policy_document(
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": self._dead_letter_queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ),
        )
        return queue

    def _declare_role(self) -> IamRole:
        context = self._props.context
        return IamRole(
            self,
            "Role",
            name=context.namer.name(self._label, kind="iam_role", regional=True),
            description=f"Execution role of the {self._props.service} Lambda function",
            # aws:SourceAccount only: Lambda documents aws:SourceArn for policies where a function
            # is the target, not for assuming its execution role; the role's credentials are tied
            # to this function by lambda:SourceFunctionArn in its policy instead.
            assume_role_policy=context.service_trust_policy("lambda.amazonaws.com"),
        )

    def _declare_function(self) -> LambdaFunction:
        props = self._props
        context = props.context
        profile = context.environment.profile
        asset = TerraformAsset(self, "Code", path=str(props.artifact.path), type=AssetType.FILE)
        return LambdaFunction(
            self,
            "Function",
            function_name=self._function_name,
            description=f"{context.platform.name} {props.service}",
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=[context.platform.lambda_architecture],
            handler=props.handler,
            filename=asset.path,
            source_code_hash=props.artifact.source_code_hash,
            memory_size=profile.lambda_memory_mib,
            timeout=profile.lambda_timeout_seconds,
            kms_key_arn=props.data_key.arn,
            environment={"variables": dict(self._environment)},
            tracing_config={"mode": "Active"},
            vpc_config={
                "subnet_ids": props.placement.subnet_ids,
                "security_group_ids": props.placement.security_group_ids,
            },
            dead_letter_config={"target_arn": self._dead_letter_queue_arn},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            depends_on=[self.log_group, self._policy],
        )

    def _declare_async_invocation(self) -> None:
        LambdaFunctionEventInvokeConfig(
            self,
            "AsyncInvokeConfig",
            function_name=self.function.function_name,
            maximum_retry_attempts=ASYNC_MAX_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
            destination_config={"on_failure": {"destination": self._dead_letter_queue_arn}},
        )

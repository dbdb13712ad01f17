"""Which statements of a function's execution role Lambda uses itself, not the function's code.

Lambda uses the execution role for calls it makes on the function's behalf, outside the
function's execution environment; those calls need no network path from the function's
subnets. A statement is Lambda's when its actions and resources are exactly one of these uses
of the function's own configuration (read off the synthesized function, never off a name: a Sid
or a marker can be put on any statement, whereas a statement on the function's own log group or
dead-letter queue is Lambda's by what it allows):

* **network interfaces** of a function in a VPC: "Lambda uses your function's permissions to
  create and manage network interfaces"
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#vpc-permissions);
* **log delivery** to the function's own log group: calls to CloudWatch for logging are made
  by Lambda outside the execution environment
  (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html#permissions-executionrole-source-function-arn);
* **asynchronous invocation records** sent to the function's dead-letter queue or its
  destinations: Lambda sends them with the execution role's ``sqs:SendMessage`` /
  ``sns:Publish`` (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq),
  and for destinations also ``lambda:InvokeFunction`` / ``events:PutEvents``
  (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-async-destinations);
* **trace data**: "Lambda needs the following permissions to send trace data to X-Ray"; the
  X-Ray daemon that uploads it "runs in the Lambda environment", and an X-Ray SDK sends its
  segments to that daemon instead of to the X-Ray API
  (https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html). The page does not say
  which network the daemon's uploads take; the platform's code uses no X-Ray SDK, so its
  traces are Lambda's own segments, and a missing path would lose traces, never a call;
* **KMS used by another service**: a statement whose ``kms:ViaService`` condition admits only
  requests that a named AWS service makes on the caller's behalf
  (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service);
  the calls of the code to that service are checked as that service's.

A statement limited by ``lambda:SourceFunctionArn`` is never Lambda's: "Lambda injects the
source function ARN into the credentials context only if the request is an AWS API request
that comes from within your execution environment"
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html#permissions-executionrole-source-function-arn).
Everything else is the code's, and needs a path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from trading_infra.checks.policies import ACCOUNT, Statement, normalized
from trading_infra.checks.synthesized import reference

ENI_ACTIONS = frozenset(
    {
        "ec2:createnetworkinterface",
        "ec2:describenetworkinterfaces",
        "ec2:deletenetworkinterface",
        "ec2:assignprivateipaddresses",
        "ec2:unassignprivateipaddresses",
        "ec2:describesubnets",
    }
)
LOG_DELIVERY_ACTIONS = frozenset(
    {"logs:createloggroup", "logs:createlogstream", "logs:putlogevents"}
)
RECORD_DELIVERY_ACTIONS = frozenset(
    {"sqs:sendmessage", "sns:publish", "lambda:invokefunction", "events:putevents"}
)
TRACE_ACTIONS = frozenset(
    {
        "xray:puttracesegments",
        "xray:puttelemetryrecords",
        "xray:getsamplingrules",
        "xray:getsamplingtargets",
    }
)
_LOG_GROUP_ARN = re.compile(
    r"^arn:[^:]+:logs:[^:]+:[^:]+:log-group:(?P<name>[^:]+)(?::\*|:log-stream:.*)?$"
)
_LOG_GROUP_REFERENCE_SUFFIX = re.compile(r"^(?::\*|:log-stream:.*)?$")


@dataclass(frozen=True)
class LambdaManaged:
    """What Lambda does for one function, from its synthesized configuration.

    ``log_group_address`` is the ``aws_cloudwatch_log_group`` resource its logs go to (when the
    log group is a resource of the stack), ``log_group_name`` that group's literal name (or
    ``/aws/lambda/<function>``); ``delivery_targets`` its dead-letter queue and the destinations
    of its asynchronous invocations, exactly as written.
    """

    in_vpc: bool
    log_group_address: str | None
    log_group_name: str | None
    delivery_targets: frozenset[str]


def lambda_use(statement: Statement, function: LambdaManaged) -> str | None:
    """What Lambda does with ``statement`` for ``function``; None if the code uses it."""
    if statement.effect != "Allow" or statement.negated or not statement.actions:
        return None
    if "lambda:sourcefunctionarn" in statement.condition_keys():
        return None
    actions = {a.lower() for a in statement.actions}
    if actions <= ENI_ACTIONS and function.in_vpc:
        return "Lambda manages the function's network interfaces"
    if actions <= LOG_DELIVERY_ACTIONS and _all(statement, function, _own_log_group):
        return "Lambda delivers the function's logs"
    if actions <= RECORD_DELIVERY_ACTIONS and _all(statement, function, _delivery_target):
        return "Lambda delivers the function's asynchronous invocation records"
    if actions <= TRACE_ACTIONS:
        return "Lambda sends the function's traces"
    via = [str(v) for v in statement.condition_values("kms:ViaService")]
    if all(a.startswith("kms:") for a in actions) and via:
        return f"{', '.join(sorted(via))} use the key for the function"
    return None


def _all(
    statement: Statement, function: LambdaManaged, test: Callable[[str, LambdaManaged], bool]
) -> bool:
    return bool(statement.resources) and all(test(r, function) for r in statement.resources)


def _own_log_group(resource: str, function: LambdaManaged) -> bool:
    head, brace, tail = resource.partition("}")
    found = reference(head + brace) if brace else None
    if found is not None:
        return (
            found.address == function.log_group_address
            and found.attribute == "arn"
            and _LOG_GROUP_REFERENCE_SUFFIX.match(tail) is not None
        )
    value = normalized(resource)
    match = _LOG_GROUP_ARN.match(value)
    return match is not None and match["name"] == function.log_group_name and ACCOUNT in value


def _delivery_target(resource: str, function: LambdaManaged) -> bool:
    return resource in function.delivery_targets

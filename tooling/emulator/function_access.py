"""Authorization of the AWS requests a deployed function makes with its execution role.

A request signed with an access key the runtime issued to a function
(:func:`tooling.emulator.runtime.role_credentials.function_session`) is authenticated as moto
authenticates any request when its IAM checks are on (the key and session token must be the ones
moto's STS issued, the SigV4 signature must match), and then authorized as AWS authorizes a role
session (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)
by :func:`tooling.emulator.policy_evaluation.decide`: against the role's identity-based policies
(inline and attached, within its permissions boundary) and, for S3, the bucket's policy.

moto's own evaluation (``moto.iam.access_control``) is not used for the decision: it only knows
the resource of S3, SQS, IAM and STS requests (``"*"`` otherwise, which no statement naming a
table or function matches) and it takes every condition it cannot evaluate, which is nearly all
of them, as met (an ``Allow`` limited to ``lambda:SourceFunctionArn`` becomes unconditional, a
TLS-only ``Deny`` denies everything). Here the action and resource of each request are derived
the way the service's authorization reference defines them:

* DynamoDB: the table (``.../table/<name>``; ``.../index/<name>`` for a Query or Scan of an
  index); BatchGetItem and BatchWriteItem once per table; every item of TransactWriteItems and
  TransactGetItems as ``PutItem``, ``UpdateItem``, ``DeleteItem``, ``ConditionCheckItem`` or
  ``GetItem`` on its table, with ``dynamodb:EnclosingOperation``
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
* S3: the action and object or bucket ARN moto derives (``GetObjectVersion`` for a versioned
  read); CopyObject also reads its source; DeleteObjects deletes each key. Reading an object
  that does not exist also needs ``s3:ListBucket`` on the bucket: without it S3 answers 403
  AccessDenied instead of 404 NoSuchKey
  (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions";
  https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
* Lambda: the function ARN of the path (with its qualifier), ``Invoke`` as
  ``lambda:InvokeFunction``.
* Everything else: ``<service>:<operation>`` on the resource moto derives, or on a resource the
  emulator cannot name (only a statement granting ``"*"`` allows it).

The request context holds the keys AWS sets for a function's own calls: ``aws:SecureTransport``
is ``true`` (the emulator stands in for AWS's HTTPS endpoints, as for bucket policies),
``lambda:SourceFunctionArn`` is the calling function
(https://docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html), the
principal's keys are the role session's; the keys only present when a service calls on a
principal's behalf (``kms:ViaService``, ``aws:SourceArn``, ``aws:CalledVia``...) are absent.

A denied request is answered as the service answers it: ``AccessDeniedException`` (HTTP 400 for
DynamoDB, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html;
403 for the other JSON services, https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html),
S3's ``AccessDenied`` (403), ``AccessDenied`` (403) for the query services, with IAM's message
("User: <session> is not authorized to perform: <action> on resource: <arn> because no
identity-based policy allows the <action> action").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlparse

from tooling.emulator.policy_evaluation import Decision, Request, decide
from tooling.emulator.runtime.role_credentials import FunctionSession, function_session

__all__ = ["Check", "authorize", "caller_session", "checks"]

_ACCESS_KEY = re.compile(r"Credential=([A-Za-z0-9]+)/[^/]*/([^/]*)/([^/]*)/")
_TRANSACT_ACTIONS: Final = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
#: Lambda operations whose IAM action has another name.
_LAMBDA_ACTIONS: Final = {"Invoke": "InvokeFunction"}
#: Condition keys that are never in the request context of a function's own call: they are
#: set when an AWS service calls on a principal's behalf, or for other kinds of principal.
_ABSENT_KEYS: Final = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:username",
        "kms:viaservice",
        "kms:callerservice",
        "dynamodb:enclosingoperation",
    }
)


@dataclass(frozen=True)
class Check:
    """One authorization a request needs: an action on a resource (None: not nameable)."""

    action: str
    resource: str | None
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def caller_session(headers: Mapping[str, str]) -> FunctionSession | None:
    """The function session whose access key signed the request, if any."""
    match = _ACCESS_KEY.search(headers.get("Authorization") or "")
    return function_session(match.group(1)) if match else None


def authorize(
    response: Any, iam_request_cls: type, resource: str, session: FunctionSession
) -> None:
    """Authenticate and authorize one request of moto's ``response``; raise the service's
    error when AWS would refuse it."""
    _authenticate(response, iam_request_cls)
    service = _scope(response.headers)[1]
    operation = str(response._get_action() or "")
    if (service, operation) == ("sts", "GetCallerIdentity"):
        return  # needs no permission, and cannot be denied
    role = _role(session)
    decided: set[tuple[str, str | None, tuple[tuple[str, tuple[str, ...]], ...]]] = set()
    for check in checks(response, service, operation, resource, session.partition):
        # A 100-item TransactWriteItems into one table needs one decision, not 100.
        key = (check.action, check.resource, tuple(sorted(check.context.items())))
        if key in decided:
            continue
        decided.add(key)
        decision = _decide(check, session, role, response, service)
        if not decision.allowed:
            raise _denied(service, response, check, session, decision)


def _scope(headers: Mapping[str, str]) -> tuple[str, str]:
    """The (region, service) of the request's SigV4 credential scope."""
    match = _ACCESS_KEY.search(headers.get("Authorization") or "")
    return (match.group(2), match.group(3)) if match else ("", "")


def _authenticate(response: Any, iam_request_cls: type) -> None:
    """moto's checks of the request's access key, session token and signature."""
    path = response.raw_path
    query = urlparse(response.uri).query
    if query:
        path += "?" + query
    iam_request = iam_request_cls(
        account_id=response.current_account,
        method=response.method,
        path=path,
        data=_signed_data(response),
        body=response.raw_body,
        headers=response.headers,
        action=response._get_action(),
    )
    iam_request.check_signature()


def _signed_data(response: Any) -> Any:
    """What moto must check the signature against when the request has no raw body.

    moto computes the signature over ``body or data``: a form-encoded request (query protocol)
    was signed with its form, which moto has parsed into ``data``; any other request without a
    body (a REST GET, an Invoke without payload) was signed with the empty body, not with its
    parameters.
    """
    form = "application/x-www-form-urlencoded" in (response.headers.get("Content-Type") or "")
    if response.raw_body or form or _scope(response.headers)[1] == "s3":
        return response.data
    return {}


# --------------------------------------------------------------------------- actions, resources


def checks(
    response: Any, service: str, operation: str, resource: str, partition: str
) -> list[Check]:
    """What the request needs permission for."""
    region = _scope(response.headers)[0] or response.region
    account = response.current_account
    if service == "s3":
        return _s3_checks(response, operation, resource, partition)
    if service == "dynamodb":
        return _dynamodb_checks(_json(response.raw_body), operation, region, account, partition)
    if service == "lambda":
        return [_lambda_check(response, operation, region, account, partition)]
    return [Check(f"{service}:{operation}", None if resource == "*" else resource)]


def _json(body: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _dynamodb_checks(
    body: Mapping[str, Any], operation: str, region: str, account: str, partition: str
) -> list[Check]:
    def table(name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:{partition}:dynamodb:{region}:{account}:table/{name}"

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Check(f"dynamodb:{operation}", table(t)) for t in body.get("RequestItems") or {}]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        enclosing = {"dynamodb:enclosingoperation": (operation,)}
        return [
            Check(f"dynamodb:{_TRANSACT_ACTIONS[kind]}", table(str(part["TableName"])), enclosing)
            for item in body.get("TransactItems") or []
            for kind, part in item.items()
            if kind in _TRANSACT_ACTIONS and isinstance(part, Mapping) and "TableName" in part
        ]
    name = body.get("TableName") or body.get("ResourceArn")
    if not isinstance(name, str):
        return [Check(f"dynamodb:{operation}", None)]
    arn = table(name)
    if isinstance(body.get("IndexName"), str):
        arn = f"{arn}/index/{body['IndexName']}"
    return [Check(f"dynamodb:{operation}", arn)]


def _s3_checks(response: Any, operation: str, resource: str, partition: str) -> list[Check]:
    action = str(response.data.get("Action") or operation)
    named = None if resource.endswith(":::*") else resource
    if action == "DeleteObject" and response.method == "POST":
        return _delete_objects_checks(response.body, named or "", partition)
    found = [Check(f"s3:{action}", named)]
    source = response.headers.get("x-amz-copy-source")
    if source and action == "PutObject":
        found.append(_copy_source_check(source, partition))
    if action in ("GetObject", "GetObjectVersion") and named and _missing(response, named):
        # S3 tells "no such key" only to who may list the bucket; others get AccessDenied.
        found.append(Check("s3:ListBucket", named.split("/", 1)[0]))
    return found


def _missing(response: Any, object_arn: str) -> bool:
    """Whether the object (the version the request names, if any) does not exist in moto."""
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import FakeKey

    bucket_name, _, key = object_arn.split(":::", 1)[1].partition("/")
    version = (parse_qs(urlparse(response.uri).query).get("versionId") or [None])[0]
    try:
        bucket = response.backend.get_bucket(bucket_name)
    except MissingBucket:
        return False  # NoSuchBucket is answered whoever asks
    if version is None:
        return not isinstance(bucket.keys.get(key), FakeKey)
    versions = bucket.keys.getlist(key, default=[])
    return not any(isinstance(v, FakeKey) and str(v.version_id) == version for v in versions)


def _copy_source_check(source: str, partition: str) -> Check:
    """CopyObject reads its source: ``s3:GetObject`` (``GetObjectVersion`` with a versionId)."""
    path, _, query = unquote(source).lstrip("/").partition("?versionId=")
    action = "s3:GetObjectVersion" if query else "s3:GetObject"
    return Check(action, f"arn:{partition}:s3:::{path}")


def _delete_objects_checks(body: Any, bucket_arn: str, partition: str) -> list[Check]:
    """DeleteObjects needs ``s3:DeleteObject`` (``DeleteObjectVersion``) for every key."""
    from xml.parsers.expat import ExpatError

    import xmltodict  # type: ignore[import-untyped]  # moto's own XML parser

    try:
        document = xmltodict.parse(body or b"")
    except ExpatError:  # moto refuses the malformed body itself; it deletes nothing
        return [Check("s3:DeleteObject", None)]
    objects = (document.get("Delete") or {}).get("Object") or []
    objects = objects if isinstance(objects, list) else [objects]
    bucket = bucket_arn or f"arn:{partition}:s3:::*"
    return [
        Check(
            "s3:DeleteObjectVersion" if obj.get("VersionId") else "s3:DeleteObject",
            f"{bucket}/{obj.get('Key', '')}",
        )
        for obj in objects
        if isinstance(obj, Mapping)
    ]


def _lambda_check(
    response: Any, operation: str, region: str, account: str, partition: str
) -> Check:
    action = f"lambda:{_LAMBDA_ACTIONS.get(operation, operation)}"
    match = re.search(r"/functions/([^/]+)", unquote(str(response.raw_path)))
    if match is None:
        return Check(action, None)
    name = match.group(1)
    qualifier = (response.querystring.get("Qualifier") or [None])[0]
    if name.startswith("arn:"):
        arn = name
    elif re.fullmatch(r"\d{12}:function:.+", name):
        arn = f"arn:{partition}:lambda:{region}:{name}"
    else:
        arn = f"arn:{partition}:lambda:{region}:{account}:function:{name}"
    if qualifier and arn.count(":") == 6:
        arn = f"{arn}:{qualifier}"
    return Check(action, arn)


# --------------------------------------------------------------------------- decision


@dataclass(frozen=True)
class _Role:
    """The execution role's policies as moto has them now."""

    role_id: str | None
    identity: list[str]
    boundary: list[str] | None


def _role(session: FunctionSession) -> _Role:
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    backend = iam_backends[session.account_id][session.partition]
    try:
        role = backend.get_role_by_arn(session.role_arn)
    except NotFoundException:
        return _Role(role_id=None, identity=[], boundary=None)
    identity = [*role.policies.values()]
    identity += [_default_document(policy) for policy in role.managed_policies.values()]
    boundary = None
    if role.permissions_boundary_arn:
        try:
            boundary = [_default_document(backend.get_policy(role.permissions_boundary_arn))]
        except NotFoundException:
            boundary = []  # a boundary that allows nothing
    return _Role(role_id=str(role.id), identity=identity, boundary=boundary)


def _default_document(policy: Any) -> str:
    return next((str(v.document) for v in policy.versions if v.is_default), '{"Statement": []}')


def _decide(
    check: Check, session: FunctionSession, role: _Role, response: Any, service: str
) -> Decision:
    region = _scope(response.headers)[0] or response.region
    context: dict[str, tuple[str, ...]] = {
        "aws:securetransport": ("true",),
        "aws:viaawsservice": ("false",),
        "aws:principalisawsservice": ("false",),
        "aws:principalarn": (session.role_arn,),
        "aws:principalaccount": (session.account_id,),
        "aws:principaltype": ("AssumedRole",),
        "aws:requestedregion": (region,),
        "lambda:sourcefunctionarn": (session.function_arn,),
    }
    if role.role_id is not None:
        context["aws:userid"] = (f"{role.role_id}:{session.session_arn.rsplit('/', 1)[-1]}",)
    context.update(check.context)
    request = Request(
        action=check.action,
        resource=check.resource,
        principals=frozenset({session.role_arn, session.session_arn}),
        account_id=session.account_id,
        context=context,
        known_keys=frozenset(context) | _ABSENT_KEYS,
    )
    resource_policies = _bucket_policy(response, check.resource) if service == "s3" else []
    return decide(
        request, identity=role.identity, boundary=role.boundary, resource=resource_policies
    )


def _bucket_policy(response: Any, resource: str | None) -> list[str]:
    """The policy of the bucket an S3 resource ARN names (none: no bucket or no policy)."""
    from moto.s3.exceptions import MissingBucket

    if resource is None or ":::" not in resource:
        return []
    bucket_name = resource.split(":::", 1)[1].split("/", 1)[0]
    try:
        policy = response.backend.get_bucket(bucket_name).policy
    except MissingBucket:
        return []
    if not policy:
        return []
    return [policy.decode() if isinstance(policy, bytes) else str(policy)]


# --------------------------------------------------------------------------- errors


def _message(session: FunctionSession, check: Check, decision: Decision) -> str:
    on = f" on resource: {check.resource}" if check.resource else ""
    head = f"User: {session.session_arn} is not authorized to perform: {check.action}{on}"
    if decision is Decision.IMPLICIT_DENY:
        return f"{head} because no identity-based policy allows the {check.action} action"
    return f"{head} with an {decision.value}"


def _denied(
    service: str,
    response: Any,
    check: Check,
    session: FunctionSession,
    decision: Decision,
) -> Exception:
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.s3.exceptions import S3AccessDeniedError

    if service == "s3":
        # Not moto's BucketAccessDeniedError: DeleteObjects would catch that one and go on.
        return S3AccessDeniedError()
    if _protocol(response) in ("json", "rest-json"):
        error = JsonRESTError("AccessDeniedException", _message(session, check, decision))
        error.code = 400 if service == "dynamodb" else 403
        return error
    return AccessDeniedError(user_arn=session.session_arn, action=check.action)


def _protocol(response: Any) -> str:
    from botocore.exceptions import DataNotFoundError
    from moto.core.utils import get_service_model

    try:
        return str(get_service_model(response.boto3_service_name).metadata["protocol"])
    except DataNotFoundError:  # a service botocore does not model answers as IAM does
        return "query"

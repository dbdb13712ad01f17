"""tooling.emulator.patches.iam, ``iam-execution-role-policies`` (docs/emulator.md, rule R7): a
deployed function's AWS calls are authorized against its execution role's policies, as AWS does;
unpatched moto lets them do anything. Seen through boto3 against moto's in-process server: in
the function's own worker (its credentials, its handler's calls), and with the credentials the
runtime issues used directly, which is quicker for the finer points (resources, conditions,
bucket policies, error shapes) and for the platform's own policies (read from dev's application
stack as synthesized, so that a statement changed in infra/ changes what is enforced here)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from trading_infra.app import SynthRequest, synthesize
from trading_infra.config import load_config
from trading_infra.target import DeployTarget

from tests.infra.conftest import Stack, fake_artifacts, stack_of
from tests.tooling.conftest import reset_moto
from tests.tooling.emulator.conftest import REPO_ROOT, client, create_python_function, named
from tooling.emulator.invocations import LambdaService, function_spec
from tooling.emulator.patches import patched
from tooling.emulator.runtime.role_credentials import Credentials, ExecutionRoleCredentials

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"
ENFORCEMENT = "iam-execution-role-policies"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
Clients = Callable[[str], Any]


@pytest.fixture
def aws(endpoint: str) -> Clients:
    """boto3 clients (the emulator's ``testing`` credentials) of a freshly reset moto server."""
    reset_moto(endpoint)
    return partial(client, endpoint, region=REGION, reset=False)


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _role(aws: Clients, name: str, *statements: dict[str, Any], **options: Any) -> str:
    iam = aws("iam")
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, **options)["Role"]["Arn"]
    )
    if statements:
        iam.put_role_policy(
            RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=_policy(*statements)
        )
    return arn


def _function(
    aws: Clients,
    name: str,
    role_arn: str,
    source: str = "def handler(e, c):\n    return e\n",
    **options: Any,
) -> None:
    create_python_function(aws("lambda"), name, role_arn, source, **options)


def _credentials_of(name: str) -> Credentials:
    """What the runtime gives a new worker of function ``name``."""
    from moto.awslambda.utils import get_backend

    function = get_backend(ACCOUNT, REGION).get_function(name)
    return ExecutionRoleCredentials().issue(function_spec(function))


def _as(endpoint: str, credentials: Credentials, service: str) -> Any:
    """A boto3 client signing with ``credentials`` (a function's, or forged ones)."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )


def _table(aws: Clients, name: str, *, index: str | None = None) -> str:
    spec: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if index:
        spec["AttributeDefinitions"].append({"AttributeName": "account", "AttributeType": "S"})
        spec["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": "account", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ]
    return str(aws("dynamodb").create_table(**spec)["TableDescription"]["TableArn"])


def _error(call: Callable[[], Any]) -> tuple[str, int, str]:
    """The (code, HTTP status, message) a refused call raises."""
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )


def _session(role: str, function: str) -> str:
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{function}"


# --------------------------------------------------------------------------- what moto does


def test_r7_unpatched_moto_lets_a_functions_credentials_do_anything(
    aws: Clients, endpoint: str
) -> None:
    table = _table(aws, "trades")
    _function(
        aws,
        "fn",
        _role(aws, "fn-role", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}),
    )
    dynamodb = _as(endpoint, _credentials_of("fn"), "dynamodb")

    dynamodb.put_item(TableName="trades", Item={"id": {"S": "t-1"}})
    aws("dynamodb").delete_table(TableName="trades")

    assert aws("dynamodb").list_tables()["TableNames"] == []


def test_r7_moto_own_evaluator_ignores_resources_and_conditions() -> None:
    """Why the patch does not switch moto's IAM checks on: ``IAMRequest`` evaluates a DynamoDB
    or Lambda request against the resource ``"*"``, which no statement naming a table matches,
    and takes the conditions it cannot evaluate (all but ``sts:ExternalId``) as met."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/trades"
    grant = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}
    other_function = {
        "ArnEquals": {"lambda:SourceFunctionArn": "arn:aws:lambda:x:1:function:other"}
    }
    tls_only = {"Bool": {"aws:SecureTransport": "false"}}

    assert IAMPolicy(_policy(grant)).is_action_permitted("dynamodb:GetItem", "*") is (
        PermissionResult.NEUTRAL  # a denial of what the statement allows
    )
    assert (
        IAMPolicy(_policy({**grant, "Condition": other_function})).is_action_permitted(
            "dynamodb:GetItem", table
        )
        is PermissionResult.PERMITTED
    )  # allowed for a function the statement does not name
    deny_plain_http = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": tls_only}
    assert IAMPolicy(_policy(deny_plain_http)).is_action_permitted("dynamodb:GetItem", table) is (
        PermissionResult.DENIED  # denied although the request is over TLS
    )


# --------------------------------------------------------------------------- in the worker

READ_AND_WRITE = """
import os

import boto3
from botocore.exceptions import ClientError


def _call(request):
    try:
        request()
    except ClientError as error:
        response = error.response
        return [
            response["Error"]["Code"],
            response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"]["Message"],
        ]
    return "ok"


def handler(event, context):
    dynamodb = boto3.client("dynamodb")
    table = os.environ["TABLE"]
    return {
        "get": _call(lambda: dynamodb.get_item(TableName=table, Key={"id": {"S": "t-1"}})),
        "put": _call(lambda: dynamodb.put_item(TableName=table, Item={"id": {"S": "t-1"}})),
    }
"""

WHO_AM_I = """
import os

import boto3


def handler(event, context):
    key = os.environ["AWS_ACCESS_KEY_ID"]
    return {
        "key_prefix": key[:4],
        "is_the_emulators_key": key == "testing",
        "caller": boto3.client("sts").get_caller_identity()["Arn"],
    }
"""


def _invoke(aws: Clients, name: str) -> Any:
    answer = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def test_r7_patch_refuses_what_the_role_does_not_allow_in_the_functions_own_worker(
    aws: Clients, lambda_service: LambdaService
) -> None:
    with patched(named("lambda-invoke-local-runtime")):
        table = _table(aws, "trades")
        get_only = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}
        _function(
            aws,
            "fn",
            _role(aws, "fn-role", get_only),
            READ_AND_WRITE,
            Environment={"Variables": {"TABLE": "trades"}},
        )
        with patched(named(ENFORCEMENT)):
            enforced = _invoke(aws, "fn")
        undone = _invoke(aws, "fn")  # the same warm worker, with the same credentials

    assert enforced == {
        "get": "ok",
        "put": [
            "AccessDeniedException",
            400,
            f"User: {_session('fn-role', 'fn')} is not authorized to perform: dynamodb:PutItem"
            f" on resource: {table} because no identity-based policy allows the"
            " dynamodb:PutItem action",
        ],
    }
    assert undone == {"get": "ok", "put": "ok"}
    assert (
        lambda_service.runtime.worker_count(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn") == 1
    )


def test_r7_a_worker_signs_with_a_session_of_its_execution_role(
    aws: Clients, lambda_service: LambdaService
) -> None:
    with patched(named("lambda-invoke-local-runtime", ENFORCEMENT)):
        _function(aws, "who-am-i", _role(aws, "reader"), WHO_AM_I)
        answer = _invoke(aws, "who-am-i")

    assert answer == {
        "key_prefix": "ASIA",
        "is_the_emulators_key": False,
        "caller": _session("reader", "who-am-i"),
    }


OBJECTS = """
import boto3
from botocore.exceptions import ClientError


def handler(event, context):
    s3 = boto3.client("s3")
    read = s3.get_object(Bucket="data-bucket", Key="incoming/a.csv")["Body"].read().decode()
    s3.put_object(Bucket="data-bucket", Key="quarantine/a.jsonl", Body=b"{}")
    try:
        s3.put_object(Bucket="data-bucket", Key="incoming/b.csv", Body=b"x")
    except ClientError as error:
        return {"read": read, "refused": error.response["Error"]["Code"]}
    return {"read": read, "refused": None}
"""


def test_r7_the_runtimes_own_sdk_is_authenticated_and_checked_for_s3(
    aws: Clients, lambda_service: LambdaService
) -> None:
    """The worker signs with the runtime's pinned botocore (its S3 payload signing and
    checksums), not the project's: moto's signature check must accept it too."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="data-bucket", Key="incoming/a.csv", Body=b"trade")
    with patched(named("lambda-invoke-local-runtime", ENFORCEMENT)):
        grants = [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data-bucket/incoming/*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::data-bucket/quarantine/*",
            },
        ]
        _function(aws, "fn", _role(aws, "fn-role", *grants), OBJECTS)
        answer = _invoke(aws, "fn")

    assert answer == {"read": "trade", "refused": "AccessDenied"}
    assert s3.get_object(Bucket="data-bucket", Key="quarantine/a.jsonl")["Body"].read() == b"{}"


def test_r7_requests_with_the_emulators_credentials_are_not_checked(
    aws: Clients, endpoint: str
) -> None:
    with patched(named(ENFORCEMENT)):
        _table(aws, "trades")
        aws("dynamodb").put_item(TableName="trades", Item={"id": {"S": "t-1"}})
        aws("s3").create_bucket(
            Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        aws("s3").put_object(Bucket="data-bucket", Key="incoming/a.csv", Body=b"x")
        aws("iam").create_role(RoleName="any", AssumeRolePolicyDocument=TRUST)
        items = aws("dynamodb").scan(TableName="trades")["Items"]
        body = aws("s3").get_object(Bucket="data-bucket", Key="incoming/a.csv")["Body"].read()

    assert (items, body) == ([{"id": {"S": "t-1"}}], b"x")


# --------------------------------------------------------------------------- authentication


def test_r7_moto_checks_the_signature_and_session_token_of_a_functions_key(
    aws: Clients, endpoint: str
) -> None:
    with patched(named(ENFORCEMENT)):
        aws("s3").create_bucket(
            Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        anything = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        _function(aws, "fn", _role(aws, "fn-role", anything))
        real = _credentials_of("fn")
        wrong_secret = Credentials(real.access_key_id, "x" * 40, real.session_token)
        wrong_token = Credentials(real.access_key_id, real.secret_access_key, "forged")

        def listing(credentials: Credentials) -> Callable[[], Any]:
            return lambda: _as(endpoint, credentials, "s3").list_objects_v2(Bucket="data-bucket")

        assert listing(real)()["KeyCount"] == 0
        assert _error(listing(wrong_secret))[:2] == ("SignatureDoesNotMatch", 403)
        assert _error(listing(wrong_token))[:2] == ("InvalidToken", 400)


# --------------------------------------------------------------------------- AWS's answers


def test_r7_refusals_have_each_services_shape(aws: Clients, endpoint: str) -> None:
    with patched(named(ENFORCEMENT)):
        _table(aws, "trades")
        aws("s3").create_bucket(
            Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        _function(aws, "fn", _role(aws, "fn-role"))
        credentials = _credentials_of("fn")
        function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
        refusals = {
            "dynamodb": _error(
                lambda: _as(endpoint, credentials, "dynamodb").get_item(
                    TableName="trades", Key={"id": {"S": "t-1"}}
                )
            ),
            "lambda": _error(
                lambda: _as(endpoint, credentials, "lambda").invoke(
                    FunctionName="fn", InvocationType="DryRun"
                )
            ),
            "s3": _error(
                lambda: _as(endpoint, credentials, "s3").get_object(
                    Bucket="data-bucket", Key="incoming/a.csv"
                )
            ),
        }

    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/trades"
    session = _session("fn-role", "fn")
    assert refusals == {
        "dynamodb": (
            "AccessDeniedException",
            400,
            f"User: {session} is not authorized to perform: dynamodb:GetItem on resource: "
            f"{table} because no identity-based policy allows the dynamodb:GetItem action",
        ),
        "lambda": (
            "AccessDeniedException",
            403,
            f"User: {session} is not authorized to perform: lambda:InvokeFunction on resource: "
            f"{function} because no identity-based policy allows the lambda:InvokeFunction action",
        ),
        "s3": ("AccessDenied", 403, "Access Denied"),
    }


# --------------------------------------------------------------------------- resources


def test_r7_dynamodb_indexes_batches_and_transactions(aws: Clients, endpoint: str) -> None:
    with patched(named(ENFORCEMENT)):
        table = _table(aws, "trades", index="by-account")
        _table(aws, "other")
        _function(
            aws,
            "fn",
            _role(
                aws,
                "fn-role",
                {
                    "Effect": "Allow",
                    "Action": "dynamodb:Query",
                    "Resource": f"{table}/index/by-account",
                },
                {
                    "Effect": "Allow",
                    "Action": ["dynamodb:BatchGetItem", "dynamodb:PutItem"],
                    "Resource": table,
                },
            ),
        )
        dynamodb = _as(endpoint, _credentials_of("fn"), "dynamodb")
        put = {"Put": {"TableName": "trades", "Item": {"id": {"S": "t-1"}, "account": {"S": "a"}}}}
        update = {
            "Update": {
                "TableName": "trades",
                "Key": {"id": {"S": "t-2"}},
                "UpdateExpression": "SET account = :a",
                "ExpressionAttributeValues": {":a": {"S": "a"}},
            }
        }
        query = {
            "KeyConditionExpression": "account = :a",
            "ExpressionAttributeValues": {":a": {"S": "a"}},
        }

        dynamodb.transact_write_items(TransactItems=[put])
        found = dynamodb.query(TableName="trades", IndexName="by-account", **query)["Count"]
        batch = dynamodb.batch_get_item(RequestItems={"trades": {"Keys": [{"id": {"S": "t-1"}}]}})
        refused = {
            "query of the table": _error(lambda: dynamodb.query(TableName="trades", **query))[0],
            "an update in a transaction": _error(
                lambda: dynamodb.transact_write_items(TransactItems=[put, update])
            )[2],
            "a batch that reads another table": _error(
                lambda: dynamodb.batch_get_item(
                    RequestItems={
                        "trades": {"Keys": [{"id": {"S": "t-1"}}]},
                        "other": {"Keys": [{"id": {"S": "t-1"}}]},
                    }
                )
            )[2],
        }

    assert found == 1 and len(batch["Responses"]["trades"]) == 1
    session = _session("fn-role", "fn")
    other = table.replace("trades", "other")
    assert refused == {
        "query of the table": "AccessDeniedException",
        "an update in a transaction": (
            f"User: {session} is not authorized to perform: dynamodb:UpdateItem on resource: "
            f"{table} because no identity-based policy allows the dynamodb:UpdateItem action"
        ),
        "a batch that reads another table": (
            f"User: {session} is not authorized to perform: dynamodb:BatchGetItem on resource: "
            f"{other} because no identity-based policy allows the dynamodb:BatchGetItem action"
        ),
    }


def _read_missing_objects(aws: Clients, endpoint: str, *actions: str) -> list[tuple[str, int]]:
    """(code, status) of a function reading a key and a version that do not exist, its role
    allowing ``actions`` on the bucket and its objects."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="data-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="data-bucket", Key="incoming/a.csv", Body=b"x")
    grant = {
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": ["arn:aws:s3:::data-bucket", "arn:aws:s3:::data-bucket/*"],
    }
    _function(aws, "fn", _role(aws, "fn-role", grant))
    fn = _as(endpoint, _credentials_of("fn"), "s3")
    missing_version = "0" * 32
    return [
        _error(call)[:2]
        for call in (
            lambda: fn.get_object(Bucket="data-bucket", Key="incoming/missing.csv"),
            lambda: fn.get_object(
                Bucket="data-bucket", Key="incoming/a.csv", VersionId=missing_version
            ),
        )
    ]


def test_r7_unpatched_moto_tells_anyone_that_an_object_does_not_exist(
    aws: Clients, endpoint: str
) -> None:
    assert _read_missing_objects(aws, endpoint, "s3:GetObject", "s3:GetObjectVersion") == [
        ("NoSuchKey", 404),
        ("NoSuchVersion", 404),
    ]


def test_r7_patch_tells_only_who_may_list_the_bucket(aws: Clients, endpoint: str) -> None:
    with patched(named(ENFORCEMENT)):
        without_list = _read_missing_objects(aws, endpoint, "s3:GetObject", "s3:GetObjectVersion")
        reset_moto(endpoint)
        with_list = _read_missing_objects(
            aws, endpoint, "s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"
        )

    assert without_list == [("AccessDenied", 403), ("AccessDenied", 403)]
    assert with_list == [("NoSuchKey", 404), ("NoSuchVersion", 404)]


def test_r7_s3_object_prefixes_versions_and_copies(aws: Clients, endpoint: str) -> None:
    with patched(named(ENFORCEMENT)):
        s3 = aws("s3")
        s3.create_bucket(
            Bucket="data-bucket", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        s3.put_bucket_versioning(
            Bucket="data-bucket", VersioningConfiguration={"Status": "Enabled"}
        )
        version = s3.put_object(Bucket="data-bucket", Key="incoming/a.csv", Body=b"x")["VersionId"]
        s3.put_object(Bucket="data-bucket", Key="archive/a.csv", Body=b"y")
        bucket = "arn:aws:s3:::data-bucket"
        _function(
            aws,
            "fn",
            _role(
                aws,
                "fn-role",
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket}/incoming/*"},
                {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{bucket}/quarantine/*"},
            ),
        )
        fn = _as(endpoint, _credentials_of("fn"), "s3")

        read = fn.get_object(Bucket="data-bucket", Key="incoming/a.csv")["Body"].read()
        fn.put_object(Bucket="data-bucket", Key="quarantine/a.jsonl", Body=b"q")
        fn.copy_object(
            Bucket="data-bucket", Key="quarantine/b", CopySource="data-bucket/incoming/a.csv"
        )
        refused = [
            _error(call)[0]
            for call in (
                lambda: fn.get_object(Bucket="data-bucket", Key="archive/a.csv"),
                lambda: fn.get_object(
                    Bucket="data-bucket", Key="incoming/a.csv", VersionId=version
                ),
                lambda: fn.put_object(Bucket="data-bucket", Key="incoming/b.csv", Body=b"z"),
                lambda: fn.copy_object(
                    Bucket="data-bucket", Key="quarantine/c", CopySource="data-bucket/archive/a.csv"
                ),
                lambda: fn.delete_objects(
                    Bucket="data-bucket", Delete={"Objects": [{"Key": "quarantine/a.jsonl"}]}
                ),
                lambda: fn.list_objects_v2(Bucket="data-bucket"),
            )
        ]
        kept = s3.list_objects_v2(Bucket="data-bucket")["KeyCount"]

    assert read == b"x"
    assert refused == ["AccessDenied"] * 6
    assert kept == 4  # nothing deleted, nothing copied from archive/


# --------------------------------------------------------------------------- conditions, policies


def test_r7_a_statement_for_another_function_does_not_apply(aws: Clients, endpoint: str) -> None:
    with patched(named(ENFORCEMENT)):
        table = _table(aws, "trades")
        own = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
        statement = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": table}
        role = _role(
            aws,
            "shared-role",
            {**statement, "Condition": {"ArnEquals": {"lambda:SourceFunctionArn": own}}},
        )
        _function(aws, "fn", role)
        _function(aws, "other-fn", role)
        key = {"id": {"S": "t-1"}}

        _as(endpoint, _credentials_of("fn"), "dynamodb").get_item(TableName="trades", Key=key)
        refused = _error(
            lambda: _as(endpoint, _credentials_of("other-fn"), "dynamodb").get_item(
                TableName="trades", Key=key
            )
        )

    assert refused[0] == "AccessDeniedException"
    assert refused[2].startswith(f"User: {_session('shared-role', 'other-fn')} is not authorized")


def test_r7_a_deny_the_emulator_cannot_evaluate_denies(aws: Clients, endpoint: str) -> None:
    with patched(named(ENFORCEMENT)):
        table = _table(aws, "trades")
        _function(
            aws,
            "fn",
            _role(
                aws,
                "fn-role",
                {"Effect": "Allow", "Action": "dynamodb:*", "Resource": table},
                {
                    "Effect": "Deny",
                    "Action": "dynamodb:PutItem",
                    "Resource": table,
                    "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
                },
            ),
        )
        dynamodb = _as(endpoint, _credentials_of("fn"), "dynamodb")
        dynamodb.get_item(TableName="trades", Key={"id": {"S": "t-1"}})
        refused = _error(lambda: dynamodb.put_item(TableName="trades", Item={"id": {"S": "t-1"}}))

    assert refused[2].endswith("with an explicit deny in an identity-based policy")


def test_r7_attached_policies_and_the_permissions_boundary_count(
    aws: Clients, endpoint: str
) -> None:
    with patched(named(ENFORCEMENT)):
        table = _table(aws, "trades")
        iam = aws("iam")
        everything = iam.create_policy(
            PolicyName="everything",
            PolicyDocument=_policy({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}),
        )["Policy"]["Arn"]
        reads = iam.create_policy(
            PolicyName="reads",
            PolicyDocument=_policy(
                {"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": table}
            ),
        )["Policy"]["Arn"]
        role = _role(aws, "fn-role", PermissionsBoundary=reads)
        iam.attach_role_policy(RoleName="fn-role", PolicyArn=everything)
        _function(aws, "fn", role)
        dynamodb = _as(endpoint, _credentials_of("fn"), "dynamodb")

        dynamodb.get_item(TableName="trades", Key={"id": {"S": "t-1"}})
        refused = _error(lambda: dynamodb.put_item(TableName="trades", Item={"id": {"S": "t-1"}}))

    assert refused[:2] == ("AccessDeniedException", 400)


def test_r7_bucket_policies_allow_and_deny_the_session_but_tls_only_denies_nothing(
    aws: Clients, endpoint: str
) -> None:
    with patched(named(ENFORCEMENT, "s3-bucket-policy-secure-transport")):
        s3 = aws("s3")
        for bucket in ("open-bucket", "closed-bucket"):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
            s3.put_object(Bucket=bucket, Key="incoming/a.csv", Body=b"x")
        role = _role(
            aws,
            "fn-role",
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": ["arn:aws:s3:::closed-bucket", "arn:aws:s3:::closed-bucket/*"],
            },
        )
        _function(aws, "fn", role)
        tls_only = {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::{0}", "arn:aws:s3:::{0}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }

        def bucket_policy(bucket: str, statement: dict[str, Any]) -> str:
            with_tls_only = {
                **tls_only,
                "Resource": [r.format(bucket) for r in tls_only["Resource"]],
            }
            return _policy(with_tls_only, statement)

        s3.put_bucket_policy(
            Bucket="open-bucket",
            Policy=bucket_policy(
                "open-bucket",
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": role},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::open-bucket/*",
                },
            ),
        )
        s3.put_bucket_policy(
            Bucket="closed-bucket",
            Policy=bucket_policy(
                "closed-bucket",
                {
                    # A bucket-level action: moto checks object requests against a bucket
                    # policy's Deny statements itself, for every caller whatever their
                    # Principal (docs/emulator.md, rule R7).
                    "Effect": "Deny",
                    "Principal": {"AWS": _session("fn-role", "fn")},
                    "Action": "s3:ListBucket",
                    "Resource": "arn:aws:s3:::closed-bucket",
                },
            ),
        )
        fn = _as(endpoint, _credentials_of("fn"), "s3")

        from_the_bucket_policy = fn.get_object(Bucket="open-bucket", Key="incoming/a.csv")
        from_the_role = fn.get_object(Bucket="closed-bucket", Key="incoming/a.csv")
        refused = _error(lambda: fn.list_objects_v2(Bucket="closed-bucket"))

    assert from_the_bucket_policy["Body"].read() == from_the_role["Body"].read() == b"x"
    assert refused[:2] == ("AccessDenied", 403)


# --------------------------------------------------------------------------- the platform's roles


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


#: What the app stack reads from the network stack's state (``terraform_remote_state``): these
#: tests create neither the network nor the data key, so any well-formed identifiers do.
NETWORK_OUTPUTS: dict[str, str | list[str]] = {
    "private_subnet_ids": ["subnet-0a", "subnet-0b", "subnet-0c"],
    "lambda_security_group_id": "sg-0a",
    "kms_key_arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/data-key",
}
#: For each resource type the policies refer to: the attribute naming a resource, and the ARN
#: (Terraform's ``arn`` attribute) of a resource of that name in moto.
ARNS: dict[str, tuple[str, Callable[[str], str]]] = {
    "aws_cloudwatch_log_group": ("name", lambda name: _arn("logs", f"log-group:{name}")),
    "aws_dynamodb_table": ("name", lambda name: _arn("dynamodb", f"table/{name}")),
    "aws_s3_bucket": ("bucket", lambda name: f"arn:aws:s3:::{name}"),
    "aws_sqs_queue": ("name", lambda name: _arn("sqs", name)),
}
REFERENCE = re.compile(r"\$\{[^{}]*\}")


@pytest.fixture(scope="module")
def dev_app(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """dev's application stack as ``./tap synth`` writes it for the local target (with stand-in
    zips for the functions' code)."""
    config = load_config(REPO_ROOT / "platform.toml", environ={})
    outdir = tmp_path_factory.mktemp("synth-dev")
    names = synthesize(
        SynthRequest(
            config=config,
            environments=("dev",),
            target=DeployTarget(kind="local", emulator_port=4566),
            artifacts=fake_artifacts(outdir / "artifacts"),
            outdir=outdir,
        )
    )
    stacks = {
        name: Stack(name, json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text()))
        for name in names
    }
    return stack_of(stacks, config, "dev")


def _references(app: Stack) -> dict[str, str]:
    """Each ``${...}`` reference of ``app`` these tests can resolve, and its value: the data
    sources' partition and account, the network stack's outputs (:data:`NETWORK_OUTPUTS`), and
    the ARN of every resource of a type of :data:`ARNS`, by the name ``app`` gives it."""
    data = app.document.get("data", {})
    references = {
        **{
            f"${{data.aws_partition.{name}.partition}}": "aws"
            for name in data.get("aws_partition", {})
        },
        **{
            f"${{data.aws_caller_identity.{name}.account_id}}": ACCOUNT
            for name in data.get("aws_caller_identity", {})
        },
    }
    for state in data.get("terraform_remote_state", {}):
        outputs = f"data.terraform_remote_state.{state}.outputs"
        for output, value in NETWORK_OUTPUTS.items():
            if isinstance(value, str):
                references[f"${{{outputs}.{output}}}"] = value
            else:
                for index, element in enumerate(value):
                    references[f"${{element({outputs}.{output}, {index})}}"] = element
    for resource_type, (attribute, arn) in ARNS.items():
        for name, resource in app.resources(resource_type).items():
            references[f"${{{resource_type}.{name}.arn}}"] = arn(
                _resolved(resource[attribute], references)
            )
    return references


def _resolved(text: str, references: dict[str, str]) -> str:
    """``text`` with each ``${...}`` reference replaced by its value; fails, listing them, if
    some have none (a statement naming them would otherwise be enforced on the wrong
    resource, or not at all)."""
    resolved = REFERENCE.sub(lambda match: references.get(match[0], match[0]), text)
    if "${" in resolved:
        unresolved = sorted(set(re.findall(r"\$\{[^}]*\}?", resolved)))
        pytest.fail(f"references these tests do not resolve: {unresolved}")
    return resolved


def _create_table(aws: Clients, table: dict[str, Any], references: dict[str, str]) -> None:
    """``table`` (an ``aws_dynamodb_table`` of the stack) in moto, with its keys and global
    secondary indexes."""

    def keys(spec: dict[str, Any]) -> list[dict[str, str]]:
        ranges = [spec["range_key"]] if "range_key" in spec else []
        return [{"AttributeName": spec["hash_key"], "KeyType": "HASH"}] + [
            {"AttributeName": key, "KeyType": "RANGE"} for key in ranges
        ]

    request: dict[str, Any] = {
        "TableName": _resolved(table["name"], references),
        "KeySchema": keys(table),
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in table["attribute"]
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = table.get("global_secondary_index", [])
    if indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index["name"],
                "KeySchema": keys(index),
                "Projection": {"ProjectionType": index["projection_type"]},
            }
            for index in indexes
        ]
    aws("dynamodb").create_table(**request)


def _execution_role(app: Stack, function: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The name of ``function``'s execution role and its inline policies (name → document) in
    ``app``; fails if anything else gives the role permissions (these tests would not see it)."""
    linked = re.fullmatch(r"\$\{aws_iam_role\.([^.}]+)\.arn\}", function["role"])
    assert linked, f"{function['function_name']}'s role is not a role of the stack"
    role = app.resources("aws_iam_role")[linked[1]]
    address = f"aws_iam_role.{linked[1]}"
    of_role = {f"${{{address}.id}}", f"${{{address}.name}}"}
    policies = {
        policy["name"]: policy["policy"]
        for policy in app.resources("aws_iam_role_policy").values()
        if policy["role"] in of_role
    }
    unseen = [
        *(f"{address}.{key}" for key in ("inline_policy", "managed_policy_arns") if key in role),
        *(
            f"aws_iam_role_policy_attachment.{name}"
            for name, attachment in app.resources("aws_iam_role_policy_attachment").items()
            if attachment["role"] in of_role
        ),
    ]
    if unseen or not policies:
        pytest.fail(f"{address}: policies {sorted(policies)}, not modelled here: {unseen}")
    return str(role["name"]), policies


@pytest.fixture
def platform(aws: Clients, dev_app: Stack) -> dict[str, str]:
    """The dev deployment's tables, data bucket with its bucket policy, and functions with
    their execution roles and the roles' inline policies, each named and written as
    synthesized (:func:`dev_app`), its references resolved (:func:`_references`); the names of
    the bucket and tables."""
    references = _references(dev_app)
    for table in dev_app.resources("aws_dynamodb_table").values():
        _create_table(aws, table, references)
    bucket_address = dev_app.address("aws_s3_bucket", "Storage/DataBucket")
    bucket = _resolved(dev_app.by_path("aws_s3_bucket", "Storage/DataBucket")["bucket"], references)
    (bucket_policy,) = (
        policy["policy"]
        for policy in dev_app.resources("aws_s3_bucket_policy").values()
        if policy["bucket"] == f"${{{bucket_address}.id}}"
    )
    s3 = aws("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    # Versioned, whatever dev's profile says: the processor reads the version an event names
    # when there is one, and that read needs its own action (s3:GetObjectVersion).
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_policy(Bucket=bucket, Policy=_resolved(bucket_policy, references))
    iam = aws("iam")
    for function in dev_app.resources("aws_lambda_function").values():
        role, policies = _execution_role(dev_app, function)
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        for name, document in policies.items():
            iam.put_role_policy(
                RoleName=role, PolicyName=name, PolicyDocument=_resolved(document, references)
            )
        _function(aws, function["function_name"], arn)
    return {
        "bucket": bucket,
        "trades": _resolved(
            dev_app.by_path("aws_dynamodb_table", "Tables/TradesTable")["name"], references
        ),
        "sessions": _resolved(
            dev_app.by_path("aws_dynamodb_table", "Tables/SessionsTable")["name"], references
        ),
    }


PLATFORM_PATCHES = (ENFORCEMENT, "s3-bucket-policy-secure-transport")


def test_r7_the_processors_role_allows_every_call_of_its_code_and_nothing_next_to_them(
    aws: Clients, endpoint: str, platform: dict[str, str]
) -> None:
    names = platform
    with patched(named(*PLATFORM_PATCHES)):
        version = aws("s3").put_object(
            Bucket=names["bucket"], Key="incoming/day.csv", Body=b"0123456789"
        )["VersionId"]
        etag = aws("s3").head_object(Bucket=names["bucket"], Key="incoming/day.csv")["ETag"]
        credentials = _credentials_of("tap-processor-dev")
        s3, dynamodb, awslambda = (
            _as(endpoint, credentials, s) for s in ("s3", "dynamodb", "lambda")
        )
        trade = {
            "trade_id": {"S": "T-1"},
            "account_id": {"S": "acc-1"},
            "executed_at": {"S": "2026-01-01"},
        }

        # Each call as services/processor/src/processor/adapters/ makes it.
        s3.get_object(Bucket=names["bucket"], Key="incoming/day.csv", VersionId=version)[
            "Body"
        ].read()
        s3.get_object(
            Bucket=names["bucket"],
            Key="incoming/day.csv",
            VersionId=version,
            Range="bytes=5-",
            IfMatch=etag,
        )
        s3.get_object(Bucket=names["bucket"], Key="incoming/day.csv")
        s3.put_object(
            Bucket=names["bucket"],
            Key="quarantine/incoming/day.csv.jsonl",
            Body=b"{}",
            ContentLength=2,
            ContentType="application/x-ndjson",
        )
        dynamodb.batch_get_item(
            RequestItems={
                names["trades"]: {
                    "Keys": [{"trade_id": {"S": "T-1"}}],
                    "ProjectionExpression": "trade_id, record_hash",
                    "ConsistentRead": True,
                }
            }
        )
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": names["trades"],
                        "Item": trade,
                        "ConditionExpression": "attribute_not_exists(trade_id)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            ]
        )
        awslambda.invoke(FunctionName="tap-processor-dev", InvocationType="DryRun", Payload=b"{}")

        bucket = names["bucket"]
        next_to_them = [
            _error(call)[0]
            for call in (
                lambda: s3.get_object(Bucket=bucket, Key="quarantine/incoming/day.csv.jsonl"),
                # No s3:ListBucket: a missing file is AccessDenied (a retried, then
                # dead-lettered event), as the processor's adapters document, not NoSuchKey.
                lambda: s3.get_object(Bucket=bucket, Key="incoming/missing.csv"),
                lambda: s3.put_object(Bucket=bucket, Key="incoming/x.csv", Body=b"x"),
                lambda: s3.list_objects_v2(Bucket=bucket),
                lambda: dynamodb.get_item(TableName=names["trades"], Key={"trade_id": {"S": "1"}}),
                lambda: dynamodb.put_item(TableName=names["sessions"], Item={"id": {"S": "s"}}),
                lambda: awslambda.invoke(
                    FunctionName="tap-api-handler-dev", InvocationType="DryRun"
                ),
            )
        ]

    assert next_to_them == ["AccessDenied"] * 4 + ["AccessDeniedException"] * 3


def test_r7_the_api_functions_roles_allow_every_call_of_their_code_and_nothing_else(
    endpoint: str, platform: dict[str, str]
) -> None:
    names = platform
    with patched(named(*PLATFORM_PATCHES)):
        handler = _as(endpoint, _credentials_of("tap-api-handler-dev"), "dynamodb")
        authorizer = _as(endpoint, _credentials_of("tap-api-authorizer-dev"), "dynamodb")
        session = {"session_id": {"S": "hash"}}

        # Each call as services/api_handler/src/api_handler/adapters/dynamodb.py makes it.
        handler.put_item(
            TableName=names["sessions"],
            Item={
                **session,
                "account_id": {"S": "acc-1"},
                "created_at": {"S": "2026-01-01T00:00:00Z"},
                "expires_at": {"N": "1767229200"},
            },
            ConditionExpression="attribute_not_exists(session_id)",
        )
        handler.get_item(TableName=names["sessions"], Key=session, ConsistentRead=True)
        authorizer.get_item(TableName=names["sessions"], Key=session, ConsistentRead=True)
        handler.get_item(
            TableName=names["trades"],
            Key={"trade_id": {"S": "T-1"}},
            ProjectionExpression="trade_id, account_id",
        )
        handler.query(
            TableName=names["trades"],
            IndexName="by-account-executed-at",
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": "acc-1"}},
            ScanIndexForward=False,
            Limit=10,
        )
        handler.delete_item(
            TableName=names["sessions"],
            Key=session,
            ConditionExpression="attribute_exists(session_id) AND expires_at > :now",
            ExpressionAttributeValues={":now": {"N": "1767225600"}},
        )

        refused = [
            _error(call)[0]
            for call in (
                lambda: handler.query(
                    TableName=names["trades"],
                    KeyConditionExpression="trade_id = :t",
                    ExpressionAttributeValues={":t": {"S": "T-1"}},
                ),
                lambda: handler.put_item(
                    TableName=names["trades"], Item={"trade_id": {"S": "T-2"}}
                ),
                lambda: handler.scan(TableName=names["sessions"]),
                lambda: authorizer.put_item(TableName=names["sessions"], Item=session),
                lambda: authorizer.get_item(
                    TableName=names["trades"], Key={"trade_id": {"S": "T-1"}}
                ),
            )
        ]

    assert refused == ["AccessDeniedException"] * 5


def test_r7_a_transaction_into_one_table_needs_one_decision_per_action(
    aws: Clients, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tooling.emulator import function_access

    decided: list[tuple[str, str | None]] = []
    decide = function_access._decide

    def counting(check: Any, *args: Any) -> Any:
        decided.append((check.action, check.resource))
        return decide(check, *args)

    monkeypatch.setattr(function_access, "_decide", counting)
    with patched(named(ENFORCEMENT)):
        table = _table(aws, "trades")
        _function(
            aws,
            "fn",
            _role(
                aws, "fn-role", {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table}
            ),
        )
        dynamodb = _as(endpoint, _credentials_of("fn"), "dynamodb")
        puts = [
            {"Put": {"TableName": "trades", "Item": {"id": {"S": f"t-{n}"}}}} for n in range(100)
        ]
        dynamodb.transact_write_items(TransactItems=puts)
        stored = aws("dynamodb").scan(TableName="trades", Select="COUNT")["Count"]
    assert decided == [("dynamodb:PutItem", table)]
    assert stored == 100

"""tooling.lifecycle.adoption: resources created but never written to the state are found in
the failed apply's output and adopted with import blocks; proved with real terraform (local
provider mirror) against moto: the apply fails, the import blocks make it succeed, the plan after
it is empty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.lifecycle import crash_support as crash
from tooling.lifecycle.adoption import (
    ADOPT_FILE,
    Orphan,
    already_gone_from_apply_output,
    orphans_from_apply_output,
    remove_import_blocks,
    unadoptable_message,
    write_import_blocks,
)
from tooling.lifecycle.import_ids import Boto3Resolver, import_id, state_attributes
from tooling.terraform import run_terraform

pytestmark = pytest.mark.moto

REGION = "eu-west-1"  # outside us-east-1, S3 answers a second CreateBucket with 409

# Captured from terraform 1.11.4 + aws provider 5.100.0 against moto (-no-color; the long
# source line of each diagnostic shortened).
CAPTURED = """
Error: creating S3 Bucket (tap-adopt-data): operation error S3: CreateBucket, https response \
error StatusCode: 409, RequestID: RBrJSArTW5LxWIgvHQCOKsAhsD1iD9NjqxHiXBAL5thH5YXxtpmT, HostID: \
9Gjjt1m+cjU4OPvX9O9/8RuvnG41MRb/18Oux2o5H5MY7ISNTlXN+Dz9IG62/ILVxhAGI0qyPfg=, \
BucketAlreadyOwnedByYou:

  with aws_s3_bucket.Data_Bucket_AB12,
  on main.tf.json line 1, in resource.aws_s3_bucket.Data_Bucket_AB12:
   1: {"terraform": {...}}


Error: creating AWS DynamoDB Table (tap-adopt-table): operation error DynamoDB: CreateTable, \
https response error StatusCode: 400, RequestID: EXAMPLE-REQUEST-ID-\
q0Q1D, ResourceInUseException: Table already exists: tap-adopt-table

  with aws_dynamodb_table.Table,
  on main.tf.json line 1, in resource.aws_dynamodb_table.Table.attribute:
   1: {"terraform": {...}}


Error: creating IAM Role (tap-adopt-role): operation error IAM: CreateRole, https response \
error StatusCode: 409, RequestID: 8spi0m0pxOY6lk3XnjF5bFvQeKw2j7AEvqhyLBMJP2MOWwNQxXwS, \
EntityAlreadyExists: Role with name tap-adopt-role already exists.

  with aws_iam_role.Role,
  on main.tf.json line 1, in resource.aws_iam_role.Role:
   1: {"terraform": {...}}


Error: creating SQS Queue (tap-adopt-queue): operation error SQS: CreateQueue, https response \
error StatusCode: 400, RequestID: sOgbzSslVyY7e0BrujnoFs3Z16G9U9iyCXCjbpvNPevELlUAWYO8, \
QueueAlreadyExists: The specified queue already exists.

  with aws_sqs_queue.Q,
  on main.tf.json line 1, in resource.aws_sqs_queue.Q:


Error: creating CloudWatch Logs Log Group (/aws/lambda/tap-adopt): operation error CloudWatch \
Logs: CreateLogGroup, https response error StatusCode: 400, RequestID: vX2MQjVx2RyjDHAVlrfmmDg9Lg\
hjrmQ1KFyJ798vv3zZFuJqdOr1, ResourceAlreadyExistsException: The specified log group already exists

  with aws_cloudwatch_log_group.L,
  on main.tf.json line 1, in resource.aws_cloudwatch_log_group.L:


Error: creating Secrets Manager Secret (tap-adopt-secret): operation error Secrets Manager: \
CreateSecret, https response error StatusCode: 400, RequestID: EXAMPLE-REQUEST-ID-\
yumfHOClrM8ncm8vag, ResourceExistsException: The operation failed because the secret \
tap-adopt-secret already exists.

  with aws_secretsmanager_secret.S,
  on main.tf.json line 1, in resource.aws_secretsmanager_secret.S:


Error: creating KMS Alias (alias/tap-adopt): operation error KMS: CreateAlias, https response \
error StatusCode: 400, RequestID: PSZuAgUgdOXcIgORAKCdY6SReDfidqCKk9776Abqp56uL2pvAwBs, \
AlreadyExistsException: An alias with the name arn:aws:kms:eu-west-1:123456789012:alias/tap-adopt \
already exists

  with aws_kms_alias.A,
  on main.tf.json line 1, in resource.aws_kms_alias.A:


Error: creating Lambda Function (tap-fn): operation error Lambda: CreateFunction, https response \
error StatusCode: 409, RequestID: 410kFn9GGaZGWhBuKdWhGueKJDsFiQxYMwZ49BHXTDib1sG5tbx6, \
ResourceConflictException: Function already exist: tap-fn

  with aws_lambda_function.Fn,


Error: creating RDS Cluster Parameter Group (tap-cpg): operation error RDS: \
CreateDBClusterParameterGroup, https response error StatusCode: 400, RequestID: zvmtqZG0stZ6L96v2\
h4HPFp006fiZOazpqZBdACdfFKRzW4ViqXP, DBParameterGroupAlreadyExists: DB Parameter Group tap-cpg \
already exists.

  with aws_rds_cluster_parameter_group.Cpg,


Error: creating RDS Cluster (tap-db): operation error RDS: CreateDBCluster, https response error \
StatusCode: 400, RequestID: 6n3au6W8wiKvAUz4cGkJ4e0q0tIVsX6Jt6Q4JgDZmDsIrjOeBnhv, api error \
DBClusterSnapshotAlreadyExistsFault: Cannot create the snapshot because a snapshot with the \
identifier rds:tap-db-2026-12-01-20-51 already exists.

  with aws_rds_cluster.Db,


Error: creating API Gateway v2 Domain Name (api.example.com): operation error ApiGatewayV2: \
CreateDomainName, https response error StatusCode: 409, RequestID: EXAMPLE-REQUEST-ID-\
uwQwq5Vr771VE5jAEtSW20, ConflictException: The domain name resource already exists.

  with aws_apigatewayv2_domain_name.Dom,
"""

# The same diagnostic as terraform prints it on a terminal: colours and the box.
COLOURED = (
    "\x1b[31m╷\x1b[0m\x1b[0m\n\x1b[31m│\x1b[0m \x1b[0m\x1b[1m\x1b[31mError: \x1b[0m\x1b[0m"
    "\x1b[1mcreating S3 Bucket (tap-adopt-data): operation error S3: CreateBucket, https response "
    "error StatusCode: 409, RequestID: 1DmzGMyz5PKG, HostID: 9Gjjt1m+cjU4=, "
    "BucketAlreadyOwnedByYou: \x1b[0m\n\x1b[31m│\x1b[0m \x1b[0m\n\x1b[31m│\x1b[0m \x1b[0m\x1b[0m"
    "  with aws_s3_bucket.Data_Bucket_AB12,\n\x1b[31m│\x1b[0m \x1b[0m  on main.tf.json line 1, "
    "in resource.aws_s3_bucket.Data_Bucket_AB12:\n\x1b[31m│\x1b[0m \x1b[0m   1: {...}\n"
    "\x1b[31m╵\x1b[0m\x1b[0m\n"
)

# As AWS itself answers (the provider's format; these codes moto does not produce).
AWS_ONLY = """
Error: creating RDS Cluster (tap-db-dev): operation error RDS: CreateDBCluster, https response \
error StatusCode: 400, RequestID: 1f0c, DBClusterAlreadyExistsFault: DB Cluster already exists

  with aws_rds_cluster.Database_Cluster_1A2B,

Error: creating RDS DB Subnet Group (tap-db-dev): operation error RDS: CreateDBSubnetGroup, https \
response error StatusCode: 400, RequestID: 2e1d, DBSubnetGroupAlreadyExists: The DB subnet group \
'tap-db-dev' already exists.

  with aws_db_subnet_group.Database_Subnets_3C4D,

Error: creating Route53 Record: operation error Route 53: ChangeResourceRecordSets, https \
response error StatusCode: 400, RequestID: 3f2e, InvalidChangeBatch: [Tried to create resource \
record set [name='api.example.com.', type='A'] but it already exists]

  with aws_route53_record.Api_Record_5E6F,

Error: creating S3 Bucket (tap-logs-dev): operation error S3: CreateBucket, https response error \
StatusCode: 403, RequestID: 4a3f, api error AccessDenied: Access Denied

  with aws_s3_bucket.Logs_Bucket_7A8B,

Error: creating DynamoDB Table (tap-x-dev): operation error DynamoDB: CreateTable, https response \
error StatusCode: 400, ResourceInUseException: Attempt to change a resource which is still in use

  with aws_dynamodb_table.Busy_Table,
"""


def test_the_parser_finds_every_already_exists_error_in_real_output() -> None:
    found = {o.address: o for o in orphans_from_apply_output(CAPTURED)}
    assert list(found) == [
        "aws_s3_bucket.Data_Bucket_AB12",
        "aws_dynamodb_table.Table",
        "aws_iam_role.Role",
        "aws_sqs_queue.Q",
        "aws_cloudwatch_log_group.L",
        "aws_secretsmanager_secret.S",
        "aws_kms_alias.A",
        "aws_lambda_function.Fn",
        "aws_rds_cluster_parameter_group.Cpg",
        "aws_rds_cluster.Db",
        "aws_apigatewayv2_domain_name.Dom",
    ]
    bucket = found["aws_s3_bucket.Data_Bucket_AB12"]
    assert (bucket.type, bucket.code, bucket.name) == (
        "aws_s3_bucket",
        "BucketAlreadyOwnedByYou",
        "tap-adopt-data",
    )
    assert found["aws_dynamodb_table.Table"].code == "ResourceInUseException"
    assert found["aws_iam_role.Role"].code == "EntityAlreadyExists"
    assert found["aws_cloudwatch_log_group.L"].name == "/aws/lambda/tap-adopt"
    assert found["aws_kms_alias.A"].code == "AlreadyExistsException"
    assert found["aws_apigatewayv2_domain_name.Dom"].code == "ConflictException"


def test_the_parser_reads_terminal_output_and_skips_other_errors() -> None:
    assert orphans_from_apply_output(COLOURED) == [
        Orphan(
            "aws_s3_bucket.Data_Bucket_AB12",
            "aws_s3_bucket",
            "BucketAlreadyOwnedByYou",
            "tap-adopt-data",
            orphans_from_apply_output(COLOURED)[0].message,
        )
    ]
    found = [(o.address, o.code) for o in orphans_from_apply_output(AWS_ONLY)]
    assert found == [
        ("aws_rds_cluster.Database_Cluster_1A2B", "DBClusterAlreadyExistsFault"),
        ("aws_db_subnet_group.Database_Subnets_3C4D", "DBSubnetGroupAlreadyExists"),
        ("aws_route53_record.Api_Record_5E6F", "InvalidChangeBatch"),
    ]  # AccessDenied and a table still in use are not "already exists"
    assert orphans_from_apply_output("Apply complete! Resources: 3 added") == []


SG_RULE_DUPLICATE = crash.SG_RULE_DUPLICATE


def test_a_repeated_revoke_that_found_its_rule_gone_is_read_as_already_done() -> None:
    assert already_gone_from_apply_output(crash.DEFAULT_SG_RULE_GONE) == [
        "aws_default_security_group.Network_DefaultSecurityGroup_6811E764"
    ]
    assert orphans_from_apply_output(crash.DEFAULT_SG_RULE_GONE) == []  # nothing to import
    # A rule that is missing when it is being authorized is no lost response of a removal.
    assert already_gone_from_apply_output(SG_RULE_DUPLICATE) == []
    assert (
        already_gone_from_apply_output(
            crash.DEFAULT_SG_RULE_GONE.replace(
                "revoking Security Group", "authorizing Security Group"
            )
        )
        == []
    )


def test_the_parser_reads_the_detail_after_the_with_line() -> None:
    orphans = orphans_from_apply_output(SG_RULE_DUPLICATE)
    assert [(o.address, o.type, o.code, o.name) for o in orphans] == [
        (
            "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE",
            "aws_vpc_security_group_egress_rule",
            "InvalidPermission.Duplicate",
            "",
        )
    ]
    assert orphans[0].message == (
        "creating VPC Security Group Rule operation error EC2: AuthorizeSecurityGroupEgress, "
        "https response error StatusCode: 400, RequestID: "
        "KvKdgME7AvQDIT4Mpbv05Pevz3DBuKXLsAEbhopWWzdas13bysGZ, api error "
        "InvalidPermission.Duplicate: The specified rule already exists"
    )  # the source context (with, on and the source line) is not part of it


def test_the_parser_reads_the_detail_after_the_with_line_in_a_coloured_box() -> None:
    red, bold, reset = "\x1b[31m", "\x1b[1m", "\x1b[0m"
    box = [f"{red}│{reset} {line}" for line in SG_RULE_DUPLICATE.splitlines()]
    box[0] = f"{red}│{reset} {reset}{bold}{red}Error: {reset}{bold}creating VPC Security Group Rule"
    output = "\n".join([f"{red}╷{reset}", *box, f"{red}╵{reset}"])
    found = [(o.address, o.code) for o in orphans_from_apply_output(output)]
    assert found == [
        (
            "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE",
            "InvalidPermission.Duplicate",
        )
    ]


def test_a_duplicate_rule_is_an_orphan_only_for_a_rule_resource() -> None:
    inline = SG_RULE_DUPLICATE.replace(
        "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE",
        "aws_security_group.Network_LambdaSecurityGroup_AAAA1111",
    ).replace("creating VPC Security Group Rule", "updating Security Group egress rules")
    assert orphans_from_apply_output(inline) == []  # a group in the state, its inline rules


def _diagnostic(address: str, detail: str, *, after: bool) -> str:
    context = f"  with {address},\n  on cdk.tf.json line 1, in resource.{address}:\n   1: {{}}\n"
    if after:
        return f"Error: creating a thing\n\n{context}\n{detail}\n"
    return f"Error: creating a thing: {detail}\n\n{context}"


@pytest.mark.parametrize("after", [True, False], ids=["detail-after-with", "detail-before-with"])
def test_two_diagnostics_in_a_row_are_not_merged(after: bool) -> None:
    exists = "api error InvalidPermission.Duplicate: The specified rule already exists"
    denied = "api error UnauthorizedOperation: You are not authorized to perform this operation"
    duplicate_first = _diagnostic("aws_vpc_security_group_egress_rule.A", exists, after=after)
    denied_second = _diagnostic("aws_vpc_security_group_egress_rule.B", denied, after=after)
    denied_first = _diagnostic("aws_vpc_security_group_egress_rule.C", denied, after=after)
    duplicate_second = _diagnostic("aws_vpc_security_group_ingress_rule.D", exists, after=after)
    output = "\n".join([duplicate_first, denied_second, denied_first, duplicate_second])
    assert [o.address for o in orphans_from_apply_output(output)] == [
        "aws_vpc_security_group_egress_rule.A",
        "aws_vpc_security_group_ingress_rule.D",
    ]


def test_a_diagnostic_without_a_with_line_lends_its_code_to_no_other() -> None:
    output = (
        "Error: reading something: BucketAlreadyOwnedByYou: nothing to do with a resource\n\n"
        "Warning: Argument is deprecated: BucketAlreadyExists\n\n"
        "  with aws_s3_bucket.Warned,\n\n"
        + _diagnostic("aws_s3_bucket.Denied", "api error AccessDenied: Access Denied", after=True)
    )
    assert orphans_from_apply_output(output) == []


# --------------------------------------------------------------------------- files, messages


def test_import_blocks_are_written_and_removed(tmp_path: Path) -> None:
    path = write_import_blocks(tmp_path, {"aws_s3_bucket.B": "b", "aws_iam_role.R": "r"})
    assert path == tmp_path / ADOPT_FILE
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "import": [{"to": "aws_iam_role.R", "id": "r"}, {"to": "aws_s3_bucket.B", "id": "b"}]
    }
    assert remove_import_blocks(tmp_path) and not path.exists()
    assert not remove_import_blocks(tmp_path)


def test_unadoptable_message_names_each_and_the_fix(tmp_path: Path) -> None:
    stack_dir = tmp_path / "tap-dev-ap-southeast-1-app"
    orphans = [Orphan("aws_kms_key.K", "aws_kms_key", "AlreadyExistsException", "k")]
    text = unadoptable_message(orphans, stack_dir)
    assert "1 resource(s) exist in AWS but not in the state of tap-dev-ap-southeast-1-app" in text
    assert "aws_kms_key.K (k): AlreadyExistsException" in text
    assert f"terraform -chdir={stack_dir} import aws_kms_key.K <ID>" in text
    assert "then run ./tap deploy again" in text


# --------------------------------------------------------------------------- real terraform

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


def test_real_terraform_adopts_what_an_interrupted_apply_left(
    endpoint: str, terraform_repo: Path, tmp_path: Path
) -> None:
    reset_moto(endpoint)

    def c(service: str) -> Any:
        return crash.client(endpoint, service, REGION)

    # what the killed apply had created, never written to the state; the bucket is named as
    # the platform names its buckets, after the account (read by a data source)
    c("s3").create_bucket(
        Bucket="tap-adopt-data-dev-eu-west-1-123456789012",
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )
    c("dynamodb").create_table(
        TableName="tap-adopt-trades-dev",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    c("iam").create_role(RoleName="tap-adopt-processor-dev", AssumeRolePolicyDocument=TRUST)
    document = crash.stack_document(
        endpoint,
        REGION,
        {
            "aws_s3_bucket": {
                "Storage_DataBucket_ABCD1234": {
                    "bucket": (
                        "tap-adopt-data-dev-eu-west-1-"
                        "${data.aws_caller_identity.CallerIdentity.account_id}"
                    )
                }
            },
            "aws_s3_bucket_versioning": {
                "Storage_Versioning_1A2B": {
                    "bucket": "${aws_s3_bucket.Storage_DataBucket_ABCD1234.bucket}",
                    "versioning_configuration": {"status": "Enabled"},
                }
            },
            "aws_dynamodb_table": {
                "Data_Trades_5E6F": {
                    "name": "tap-adopt-trades-dev",
                    "hash_key": "pk",
                    "billing_mode": "PAY_PER_REQUEST",
                    "attribute": [{"name": "pk", "type": "S"}],
                }
            },
            "aws_iam_role": {
                "Compute_Role_9A8B": {
                    "name": "tap-adopt-processor-dev",
                    "assume_role_policy": TRUST,
                }
            },
        },
    )
    document["data"] = {"aws_caller_identity": {"CallerIdentity": {}}}
    stack_dir = tmp_path / "tap-dev-eu-west-1-app"
    crash.write_config(stack_dir, document)
    init = crash.terraform(["init", "-input=false"], stack_dir, terraform_repo, REGION)
    assert init.returncode == 0, init.stderr

    failed = crash.terraform(
        ["apply", "-auto-approve", "-input=false"], stack_dir, terraform_repo, REGION
    )
    assert failed.returncode == 1
    orphans = orphans_from_apply_output(failed.stdout + failed.stderr)
    assert {(o.address, o.code) for o in orphans} == {
        ("aws_s3_bucket.Storage_DataBucket_ABCD1234", "BucketAlreadyOwnedByYou"),
        ("aws_dynamodb_table.Data_Trades_5E6F", "ResourceInUseException"),
        ("aws_iam_role.Compute_Role_9A8B", "EntityAlreadyExists"),
    }
    resolver = Boto3Resolver(c)
    # The account id in the bucket's name is what the data source read into the state of the
    # failed apply: without that state the ID cannot be computed.
    bucket = "aws_s3_bucket.Storage_DataBucket_ABCD1234"
    assert import_id(bucket, document, resolve=resolver) is None
    pulled = run_terraform(
        ["state", "pull"],
        cwd=stack_dir, repo_root=terraform_repo, env_extra=crash.aws_env(REGION), capture=True,
    )  # fmt: skip
    recorded = state_attributes(pulled.stdout)
    imports = {
        o.address: import_id(o.address, document, resolve=resolver, state=recorded) for o in orphans
    }
    assert imports[bucket] == "tap-adopt-data-dev-eu-west-1-123456789012"
    assert None not in imports.values()
    write_import_blocks(stack_dir, {a: i for a, i in imports.items() if i is not None})

    adopted = crash.terraform(
        ["apply", "-auto-approve", "-input=false"], stack_dir, terraform_repo, REGION
    )
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert "3 imported" in adopted.stdout
    remove_import_blocks(stack_dir)
    plan = crash.terraform(
        ["plan", "-detailed-exitcode", "-input=false"], stack_dir, terraform_repo, REGION
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    state = crash.terraform(["state", "list"], stack_dir, terraform_repo, REGION)
    assert set(state.stdout.split()) == {
        "data.aws_caller_identity.CallerIdentity",
        "aws_dynamodb_table.Data_Trades_5E6F",
        "aws_iam_role.Compute_Role_9A8B",
        "aws_s3_bucket.Storage_DataBucket_ABCD1234",
        "aws_s3_bucket_versioning.Storage_Versioning_1A2B",
    }


def test_real_terraform_adopts_security_group_rules_it_was_told_are_duplicates(
    endpoint: str, terraform_repo: Path, tmp_path: Path
) -> None:
    """Rules that exist in AWS but not in the state (as after a create whose response was lost)
    are found by their group and peer, both read from the state, and adopted."""
    reset_moto(endpoint)

    def c(service: str) -> Any:
        return crash.client(endpoint, service, REGION)

    lambda_sg = "${aws_security_group.Network_LambdaSecurityGroup_AAAA1111.id}"
    https = {"from_port": 443, "ip_protocol": "tcp", "to_port": 443}
    document = crash.stack_document(
        endpoint,
        REGION,
        {
            "aws_vpc": {"Network_Vpc_1A2B3C4D": {"cidr_block": "10.0.0.0/16"}},
            "aws_security_group": {
                name: {
                    "name": group,
                    "description": group,
                    "vpc_id": "${aws_vpc.Network_Vpc_1A2B3C4D.id}",
                }
                for name, group in (
                    ("Network_LambdaSecurityGroup_AAAA1111", "tap-adopt-lambda"),
                    ("Network_EndpointSecurityGroup_7A30837F", "tap-adopt-endpoints"),
                )
            },
            "aws_vpc_endpoint": {
                "Network_S3GatewayEndpoint_BBBB2222": {
                    "vpc_id": "${aws_vpc.Network_Vpc_1A2B3C4D.id}",
                    "service_name": f"com.amazonaws.{REGION}.s3",
                    "vpc_endpoint_type": "Gateway",
                }
            },
            "aws_vpc_security_group_egress_rule": {
                "Network_LambdaToS3_136841EE": {
                    **https,
                    "prefix_list_id": (
                        "${aws_vpc_endpoint.Network_S3GatewayEndpoint_BBBB2222.prefix_list_id}"
                    ),
                    "security_group_id": lambda_sg,
                }
            },
            "aws_vpc_security_group_ingress_rule": {
                "Network_EndpointFromLambda_9E8F7A6B": {
                    **https,
                    "referenced_security_group_id": lambda_sg,
                    "security_group_id": (
                        "${aws_security_group.Network_EndpointSecurityGroup_7A30837F.id}"
                    ),
                }
            },
        },
    )
    rules = {
        "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE",
        "aws_vpc_security_group_ingress_rule.Network_EndpointFromLambda_9E8F7A6B",
    }
    stack_dir = tmp_path / "tap-dev-eu-west-1-network"
    crash.write_config(stack_dir, document)

    def terraform(*args: str) -> Any:
        return crash.terraform(list(args), stack_dir, terraform_repo, REGION)

    assert terraform("init", "-input=false").returncode == 0
    created = terraform("apply", "-auto-approve", "-input=false")
    assert created.returncode == 0, created.stdout + created.stderr
    # GIVEN the rules exist in AWS, the groups and the endpoint in the state, the rules not
    forgotten = run_terraform(
        ["state", "rm", *sorted(rules)],
        cwd=stack_dir, repo_root=terraform_repo, env_extra=crash.aws_env(REGION), capture=True,
    )  # fmt: skip
    assert forgotten.returncode == 0, forgotten.stderr

    # WHEN the apply fails for them, and their IDs are computed with the state's attributes
    failed = terraform("apply", "-auto-approve", "-input=false")
    assert failed.returncode == 1
    orphans = orphans_from_apply_output(failed.stdout + failed.stderr)
    assert {(o.address, o.code) for o in orphans} == {
        (address, "InvalidPermission.Duplicate") for address in rules
    }
    pulled = run_terraform(
        ["state", "pull"],
        cwd=stack_dir, repo_root=terraform_repo, env_extra=crash.aws_env(REGION), capture=True,
    )  # fmt: skip
    state = state_attributes(pulled.stdout)
    resolver = Boto3Resolver(c)
    imports = {
        o.address: import_id(o.address, document, resolve=resolver, state=state) for o in orphans
    }
    assert all(str(ident).startswith("sgr-") for ident in imports.values()), imports
    write_import_blocks(stack_dir, {a: i for a, i in imports.items() if i is not None})

    # THEN the next apply imports them, and the plan after it is empty
    adopted = terraform("apply", "-auto-approve", "-input=false")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert "2 imported" in adopted.stdout
    remove_import_blocks(stack_dir)
    plan = terraform("plan", "-detailed-exitcode", "-input=false")
    assert plan.returncode == 0, plan.stdout + plan.stderr

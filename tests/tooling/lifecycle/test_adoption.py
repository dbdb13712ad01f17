"""tooling.lifecycle.adoption: resources created but never written to the state are found in the
failed apply's JSON diagnostics and adopted with import blocks; proved with real terraform (local
provider mirror) against moto: the apply fails, the IDs are made from what Terraform plans for
the orphans, the import blocks make the next apply succeed, the plan after it is empty."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.lifecycle import crash_support as crash
from tests.tooling.lifecycle import recorded_ui as ui
from tooling.lifecycle.adoption import (
    ADOPT_FILE,
    Orphan,
    already_gone,
    orphans,
    remove_import_blocks,
    unadoptable_message,
    write_import_blocks,
)
from tooling.lifecycle.import_ids import import_id
from tooling.lifecycle.import_lookups import Boto3Resolver
from tooling.lifecycle.terraform_events import Diagnostic, diagnostics, parse

pytestmark = pytest.mark.moto

REGION = "eu-west-1"  # outside us-east-1, S3 answers a second CreateBucket with 409


def _errors(*lines: str) -> list[Diagnostic]:
    return diagnostics(parse(line) for line in lines)


def _found(*lines: str) -> list[tuple[str, str, str]]:
    return [(o.address, o.code, o.name) for o in orphans(_errors(*lines))]


def test_every_recorded_already_exists_error_is_an_orphan() -> None:
    assert _found(
        ui.BUCKET_EXISTS,
        ui.TABLE_EXISTS,
        ui.ROLE_EXISTS,
        ui.QUEUE_EXISTS,
        ui.LOG_GROUP_EXISTS,
        ui.SECRET_EXISTS,
        ui.KMS_ALIAS_EXISTS,
        ui.CLUSTER_PARAMETER_GROUP_EXISTS,
        ui.SECURITY_GROUP_EXISTS,
        ui.ROUTE_EXISTS,
        ui.EGRESS_RULE_DUPLICATE,
    ) == [
        (
            "aws_s3_bucket.Storage_DataBucket_ABCD1234",
            "BucketAlreadyOwnedByYou",
            "tap-adopt-data-dev-eu-west-1-123456789012",
        ),
        ("aws_dynamodb_table.Data_Trades_5E6F", "ResourceInUseException", "tap-adopt-trades-dev"),
        ("aws_iam_role.Compute_Role_9A8B", "EntityAlreadyExists", "tap-adopt-processor-dev"),
        ("aws_sqs_queue.Q", "QueueAlreadyExists", "tap-adopt-q"),
        ("aws_cloudwatch_log_group.L", "ResourceAlreadyExistsException", "/aws/lambda/tap-adopt"),
        ("aws_secretsmanager_secret.S", "ResourceExistsException", "tap-adopt-secret"),
        ("aws_kms_alias.A", "AlreadyExistsException", "alias/tap-adopt"),
        ("aws_rds_cluster_parameter_group.Cpg", "DBParameterGroupAlreadyExists", "tap-cpg"),
        ("aws_security_group.Sg", "InvalidGroup.Duplicate", "tap-adopt-sg"),
        ("aws_route.Default", "RouteAlreadyExists", ""),  # the provider's own error: no name
        (
            "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE",
            "InvalidPermission.Duplicate",
            "",
        ),
    ]


def test_the_code_is_read_from_the_detail_too() -> None:
    """The security group rule's summary only says what was being done; the AWS error is in its
    detail."""
    [orphan] = orphans(_errors(ui.INGRESS_RULE_DUPLICATE))
    assert orphan == Orphan(
        "aws_vpc_security_group_ingress_rule.Network_EndpointFromLambda_9E8F7A6B",
        "aws_vpc_security_group_ingress_rule",
        "InvalidPermission.Duplicate",
        "",
        "creating VPC Security Group Rule operation error EC2: AuthorizeSecurityGroupIngress, "
        "https response error StatusCode: 400, RequestID: "
        "36EuFpn45r9Ul7jQrUIfCjZtXSQjZpsFQ9IBR7qN0bR55mIBCO1S, api error "
        "InvalidPermission.Duplicate: The specified rule already exists",
    )


# Diagnostics recorded from terraform's human view (moto's answers, and AWS's for the codes moto
# does not produce), in the JSON UI's form: the error line is the summary.
FROM_THE_HUMAN_VIEW = [
    ui.diagnostic(
        "error",
        "creating Lambda Function (tap-fn): operation error Lambda: CreateFunction, https "
        "response error StatusCode: 409, RequestID: 410kFn9GGaZGWhBuKdWhGueKJDsFiQxYMwZ49BHXTDib1"
        "sG5tbx6, ResourceConflictException: Function already exist: tap-fn",
        "",
        "aws_lambda_function.Fn",
    ),
    ui.diagnostic(
        "error",
        "creating RDS Cluster (tap-db): operation error RDS: CreateDBCluster, https response "
        "error StatusCode: 400, RequestID: 6n3au6W8wiKvAUz4cGkJ4e0q0tIVsX6Jt6Q4JgDZmDsIrjOeBnhv, "
        "api error DBClusterSnapshotAlreadyExistsFault: Cannot create the snapshot because a "
        "snapshot with the identifier rds:tap-db-2026-12-01-20-51 already exists.",
        "",
        "aws_rds_cluster.Db",
    ),
    ui.diagnostic(
        "error",
        "creating API Gateway v2 Domain Name (api.example.com): operation error ApiGatewayV2: "
        "CreateDomainName, https response error StatusCode: 409, RequestID: EXAMPLE-REQUEST-ID-"
        "uwQwq5Vr771VE5jAEtSW20, ConflictException: The domain name resource already exists.",
        "",
        "aws_apigatewayv2_domain_name.Dom",
    ),
    ui.diagnostic(
        "error",
        "creating RDS Cluster (tap-db-dev): operation error RDS: CreateDBCluster, https response "
        "error StatusCode: 400, RequestID: 1f0c, DBClusterAlreadyExistsFault: DB Cluster already "
        "exists",
        "",
        "aws_rds_cluster.Database_Cluster_1A2B",
    ),
    ui.diagnostic(
        "error",
        "creating RDS DB Subnet Group (tap-db-dev): operation error RDS: CreateDBSubnetGroup, "
        "https response error StatusCode: 400, RequestID: 2e1d, DBSubnetGroupAlreadyExists: The "
        "DB subnet group 'tap-db-dev' already exists.",
        "",
        "aws_db_subnet_group.Database_Subnets_3C4D",
    ),
    ui.diagnostic(
        "error",
        "creating Route53 Record: operation error Route 53: ChangeResourceRecordSets, https "
        "response error StatusCode: 400, RequestID: 3f2e, InvalidChangeBatch: [Tried to create "
        "resource record set [name='api.example.com.', type='A'] but it already exists]",
        "",
        "aws_route53_record.Api_Record_5E6F",
    ),
    ui.diagnostic(  # AWS's error as the provider's documentation of the association quotes it
        "error",
        "creating Route Table (rtb-4176657279) Association: operation error EC2: "
        "AssociateRouteTable, https response error StatusCode: 400, RequestID: 4b2c, api error "
        "Resource.AlreadyAssociated: the specified association for route table rtb-4176657279 "
        "conflicts with an existing association",
        "",
        "aws_route_table_association.Network_PrivateSubnet1Routes_385E977A",
    ),
    ui.diagnostic(  # the emulator's answer after a killed apply had created the subnet
        "error",
        "creating EC2 Subnet: operation error EC2: CreateSubnet, https response error StatusCode: "
        "400, RequestID: aLcnv9LUvG2mMGIxuJdDrPu0Cji1rL9QxKJ9403keedUK7Sy36Wu, api error "
        "InvalidSubnet.Conflict: The CIDR '10.0.32.0/19' conflicts with another subnet",
        "",
        "aws_subnet.Network_PublicSubnet2_E7B6D3F8",
    ),
]
NOT_ALREADY_EXISTS = [
    ui.diagnostic(
        "error",
        "creating S3 Bucket (tap-logs-dev): operation error S3: CreateBucket, https response "
        "error StatusCode: 403, RequestID: 4a3f, api error AccessDenied: Access Denied",
        "",
        "aws_s3_bucket.Logs_Bucket_7A8B",
    ),
    ui.diagnostic(
        "error",
        "creating DynamoDB Table (tap-x-dev): operation error DynamoDB: CreateTable, https "
        "response error StatusCode: 400, ResourceInUseException: Attempt to change a resource "
        "which is still in use",
        "",
        "aws_dynamodb_table.Busy_Table",
    ),
    ui.PROVISIONER_ERROR,
    ui.LOCK_ERROR,
]


def test_already_exists_errors_of_other_services_are_orphans_and_other_errors_are_not() -> None:
    assert _found(*FROM_THE_HUMAN_VIEW, *NOT_ALREADY_EXISTS) == [
        ("aws_lambda_function.Fn", "ResourceConflictException", "tap-fn"),
        ("aws_rds_cluster.Db", "DBClusterSnapshotAlreadyExistsFault", "tap-db"),
        (
            "aws_apigatewayv2_domain_name.Dom",
            "ConflictException",
            "api.example.com",
        ),
        ("aws_rds_cluster.Database_Cluster_1A2B", "DBClusterAlreadyExistsFault", "tap-db-dev"),
        ("aws_db_subnet_group.Database_Subnets_3C4D", "DBSubnetGroupAlreadyExists", "tap-db-dev"),
        ("aws_route53_record.Api_Record_5E6F", "InvalidChangeBatch", ""),
        (
            "aws_route_table_association.Network_PrivateSubnet1Routes_385E977A",
            "Resource.AlreadyAssociated",
            "",
        ),
        ("aws_subnet.Network_PublicSubnet2_E7B6D3F8", "InvalidSubnet.Conflict", ""),
    ]  # AccessDenied, a table still in use, a provisioner's error, the lock: not "exists"


@pytest.mark.parametrize(
    "line",
    [
        crash.with_fields(ui.BUCKET_EXISTS, severity="warning"),  # a warning is not a failure
        crash.with_fields(ui.BUCKET_EXISTS, address=""),  # about no resource
        crash.with_fields(
            ui.BUCKET_EXISTS, address="data.aws_s3_bucket.Existing"
        ),  # a data source creates nothing
        crash.with_fields(
            ui.BUCKET_EXISTS, summary="creating S3 Bucket: BucketAlreadyOwnedByYouToo: x"
        ),  # a word
        crash.with_fields(
            ui.BUCKET_EXISTS, summary="creating S3 Bucket: XBucketAlreadyOwnedByYou: x"
        ),
    ],
)
def test_only_an_error_about_a_managed_resource_with_the_whole_code_is_an_orphan(
    line: str,
) -> None:
    assert orphans(diagnostics([parse(line)], errors_only=False)) == []


def test_the_type_of_an_address_in_a_module_with_index_keys() -> None:
    address = 'module.net["a.b"].aws_vpc_security_group_egress_rule.r["x.y]z"]'
    line = json.loads(ui.EGRESS_RULE_DUPLICATE)
    line["diagnostic"]["address"] = address
    [orphan] = orphans(_errors(json.dumps(line)))
    assert (orphan.address, orphan.type) == (address, "aws_vpc_security_group_egress_rule")


def test_a_duplicate_rule_is_an_orphan_only_for_a_rule_resource() -> None:
    line = json.loads(ui.EGRESS_RULE_DUPLICATE)
    line["diagnostic"]["address"] = "aws_security_group.Network_LambdaSecurityGroup_AAAA1111"
    line["diagnostic"]["summary"] = "updating Security Group egress rules"
    assert orphans(_errors(json.dumps(line))) == []  # a group in the state, its inline rules


def test_each_address_is_an_orphan_once() -> None:
    assert len(orphans(_errors(ui.BUCKET_EXISTS, ui.BUCKET_EXISTS))) == 1


def test_a_repeated_revoke_that_found_its_rule_gone_is_read_as_already_done() -> None:
    assert already_gone(_errors(ui.DEFAULT_SG_RULE_GONE)) == [
        "aws_default_security_group.Network_DefaultSecurityGroup_6811E764"
    ]
    assert orphans(_errors(ui.DEFAULT_SG_RULE_GONE)) == []  # nothing to import
    # A rule that is missing when it is being authorized is no lost response of a removal.
    assert already_gone(_errors(ui.EGRESS_RULE_DUPLICATE)) == []
    authorizing = ui.DEFAULT_SG_RULE_GONE.replace("revoking Security", "authorizing Security")
    assert already_gone(_errors(authorizing)) == []


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
    found = [Orphan("aws_kms_key.K", "aws_kms_key", "AlreadyExistsException", "k")]
    text = unadoptable_message(found, stack_dir)
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
APPLY = ("apply", "-auto-approve", "-input=false", "-json")
ACCOUNT_BUCKET = "tap-adopt-data-dev-eu-west-1-123456789012"


def _app(endpoint: str) -> dict[str, Any]:
    """A bucket named after the account (read by a data source, as the platform names its
    buckets), its versioning, a table and a role."""
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
    return document


def _network(endpoint: str) -> dict[str, Any]:
    """Two groups, an S3 gateway endpoint, an egress rule to its prefix list and an ingress
    rule from the other group (the platform's network, smaller)."""
    vpc, lambda_sg = "${aws_vpc.Network_Vpc_1A2B3C4D.id}", "${aws_security_group.%s.id}"
    https = {"from_port": 443, "ip_protocol": "tcp", "to_port": 443}
    groups = {
        "Network_LambdaSecurityGroup_AAAA1111": "tap-adopt-lambda",
        "Network_EndpointSecurityGroup_7A30837F": "tap-adopt-endpoints",
    }
    return crash.stack_document(
        endpoint,
        REGION,
        {
            "aws_vpc": {"Network_Vpc_1A2B3C4D": {"cidr_block": "10.0.0.0/16"}},
            "aws_security_group": {
                name: {"name": group, "description": group, "vpc_id": vpc}
                for name, group in groups.items()
            },
            "aws_vpc_endpoint": {
                "Network_S3GatewayEndpoint_BBBB2222": {
                    "vpc_id": vpc,
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
                    "security_group_id": lambda_sg % "Network_LambdaSecurityGroup_AAAA1111",
                }
            },
            "aws_vpc_security_group_ingress_rule": {
                "Network_EndpointFromLambda_9E8F7A6B": {
                    **https,
                    "referenced_security_group_id": (
                        lambda_sg % "Network_LambdaSecurityGroup_AAAA1111"
                    ),
                    "security_group_id": lambda_sg % "Network_EndpointSecurityGroup_7A30837F",
                }
            },
        },
    )


def _terraform(stack_dir: Path, repo: Path) -> Callable[..., Any]:
    def terraform(*args: str) -> Any:
        return crash.terraform(list(args), stack_dir, repo, REGION)

    return terraform


def _adopt_and_converge(terraform: Callable[..., Any], stack_dir: Path, imports: Any) -> int:
    """Write the import blocks, apply (which must succeed) and plan again (which must find
    nothing to do); the number of resources the apply imported."""
    write_import_blocks(stack_dir, imports)
    adopted = terraform(*APPLY)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    applied = [m.changes for m in crash.messages(adopted) if m.changes][-1]
    remove_import_blocks(stack_dir)
    replan = terraform("plan", "-detailed-exitcode", "-input=false")
    assert replan.returncode == 0, replan.stdout + replan.stderr
    assert applied is not None and applied.operation == "apply"
    return applied.imported


def test_real_terraform_adopts_what_exists_outside_the_state(
    endpoint: str, terraform_repo: Path, tmp_path: Path
) -> None:
    """One stack, both ways a resource ends up outside the state: a bucket named after the
    account (a data source), its versioning, a table and a role a killed apply had created; and
    two security group rules whose create response was lost (they exist, the groups and the
    endpoint are in the state, the rules are not). The failed apply names each by its address,
    Terraform's plan gives the attributes their import IDs are made of, and the next apply
    adopts all five; the plan after it is empty."""
    reset_moto(endpoint)

    def c(service: str) -> Any:
        return crash.client(endpoint, service, REGION)

    rules = {
        "aws_vpc_security_group_egress_rule.Network_LambdaToS3_136841EE",
        "aws_vpc_security_group_ingress_rule.Network_EndpointFromLambda_9E8F7A6B",
    }
    stack_dir = tmp_path / "tap-dev-eu-west-1-app"
    crash.write_config(stack_dir, _network(endpoint))
    terraform = _terraform(stack_dir, terraform_repo)
    init = terraform("init", "-input=false")
    assert init.returncode == 0, init.stderr
    created = terraform(*APPLY)
    assert created.returncode == 0, created.stdout + created.stderr
    # GIVEN the rules exist in AWS, the groups and the endpoint in the state, the rules not
    forgotten = terraform("state", "rm", *sorted(rules))
    assert forgotten.returncode == 0, forgotten.stderr
    # AND what a killed apply had created, never written to the state
    c("s3").create_bucket(
        Bucket=ACCOUNT_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    c("dynamodb").create_table(
        TableName="tap-adopt-trades-dev",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    c("iam").create_role(RoleName="tap-adopt-processor-dev", AssumeRolePolicyDocument=TRUST)
    application = _app(endpoint)
    document = _network(endpoint)
    document["resource"].update(application["resource"])
    document["data"] = application["data"]
    crash.write_config(stack_dir, document)

    # WHEN the apply fails for what exists
    failed = terraform(*APPLY)
    assert failed.returncode == 1
    found = orphans(diagnostics(crash.messages(failed)))
    assert {(o.address, o.code) for o in found} == {
        ("aws_s3_bucket.Storage_DataBucket_ABCD1234", "BucketAlreadyOwnedByYou"),
        ("aws_dynamodb_table.Data_Trades_5E6F", "ResourceInUseException"),
        ("aws_iam_role.Compute_Role_9A8B", "EntityAlreadyExists"),
        *((address, "InvalidPermission.Duplicate") for address in rules),
    }
    # THEN Terraform's plan knows their attributes: the account id of the data source, the
    # groups' and the prefix list's ids from the state
    plan = crash.planned(stack_dir, terraform_repo, REGION)
    group = plan.state["aws_security_group.Network_LambdaSecurityGroup_AAAA1111"].values["id"]
    assert plan.planned[sorted(rules)[0]].values["security_group_id"] == group
    resolver = Boto3Resolver(c)
    imports = {o.address: import_id(o.address, plan, resolve=resolver) for o in found}
    assert {a: i for a, i in imports.items() if a not in rules} == {
        "aws_s3_bucket.Storage_DataBucket_ABCD1234": ACCOUNT_BUCKET,
        "aws_dynamodb_table.Data_Trades_5E6F": "tap-adopt-trades-dev",
        "aws_iam_role.Compute_Role_9A8B": "tap-adopt-processor-dev",
    }
    assert all(str(imports[rule]).startswith("sgr-") for rule in rules), imports
    # the versioning's bucket comes from the bucket's planned name: known as well
    versioning = "aws_s3_bucket_versioning.Storage_Versioning_1A2B"
    assert import_id(versioning, plan, resolve=resolver) == ACCOUNT_BUCKET
    # AND the next apply imports all five, and the plan after it is empty
    assert _adopt_and_converge(terraform, stack_dir, imports) == 5
    listed = set(terraform("state", "list").stdout.split())
    assert {
        "data.aws_caller_identity.CallerIdentity",
        "aws_dynamodb_table.Data_Trades_5E6F",
        "aws_iam_role.Compute_Role_9A8B",
        "aws_s3_bucket.Storage_DataBucket_ABCD1234",
        versioning,
        *rules,
    } <= listed

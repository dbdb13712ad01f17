"""tooling.lifecycle.sweep: what a destroy left behind is deleted, in an order AWS accepts, and
one item that cannot be deleted is reported, never raised (moto's in-process mocks)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tooling.emulator.process import FAKE_CREDENTIALS
from tooling.lifecycle.backend import BackendSpec, StateBucket
from tooling.lifecycle.leftovers import leftovers
from tooling.lifecycle.sweep import sweep, sweep_order

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"


@dataclass(frozen=True)
class Leftover:
    kind: str
    name: str


def clients(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS.access_key_id,
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS.secret_access_key,
        "AWS_SESSION_TOKEN": FAKE_CREDENTIALS.session_token,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def _network() -> list[Leftover]:
    """A VPC as the platform builds it: subnets, route table, IGW, endpoint, SGs, flow log."""
    ec2 = clients("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        RouteTableIds=[table],
        VpcEndpointType="Gateway",  # as the aws provider sends it (moto fails without)
    )["VpcEndpoint"]["VpcEndpointId"]
    app = ec2.create_security_group(GroupName="tap-app-dev", Description="app", VpcId=vpc)
    db = ec2.create_security_group(GroupName="tap-db-dev", Description="db", VpcId=vpc)
    pair = {"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306}
    ec2.authorize_security_group_ingress(
        GroupId=db["GroupId"],
        IpPermissions=[{**pair, "UserIdGroupPairs": [{"GroupId": app["GroupId"]}]}],
    )
    ec2.authorize_security_group_ingress(
        GroupId=app["GroupId"],
        IpPermissions=[{**pair, "UserIdGroupPairs": [{"GroupId": db["GroupId"]}]}],
    )
    clients("logs", REGION).create_log_group(logGroupName="/tap/dev/flow-logs")
    flow_log = ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogGroupName="/tap/dev/flow-logs",
        DeliverLogsPermissionArn="arn:aws:iam::123456789012:role/tap-flow-logs-dev",
    )["FlowLogIds"][0]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    # as the leftover check lists them: every group and table of the VPC, the default/main too
    return [
        Leftover(f"{REGION} vpc", vpc),
        *[Leftover(f"{REGION} subnet", s) for s in subnets],
        *[Leftover(f"{REGION} security group", g["GroupId"]) for g in groups["SecurityGroups"]],
        Leftover(f"{REGION} internet gateway", gateway),
        *[Leftover(f"{REGION} route table", t["RouteTableId"]) for t in tables["RouteTables"]],
        Leftover(f"{REGION} vpc endpoint", endpoint),
        Leftover(f"{REGION} flow log", flow_log),
        Leftover(f"{REGION} log group", "/tap/dev/flow-logs"),
    ]


def _bucket() -> list[Leftover]:
    s3 = clients("s3", REGION)
    s3.create_bucket(
        Bucket="tap-data-dev", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    s3.put_bucket_versioning(Bucket="tap-data-dev", VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two", b"three"):
        s3.put_object(Bucket="tap-data-dev", Key="trades/1.json", Body=body)
    s3.put_object(Bucket="tap-data-dev", Key="trades/2.json", Body=b"x")
    s3.delete_object(Bucket="tap-data-dev", Key="trades/2.json")  # a delete marker
    return [Leftover("s3 bucket", "tap-data-dev")]


def _compute() -> list[Leftover]:
    iam = clients("iam", REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="tap-processor-dev", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="tap-processor-dev",
        PolicyName="tables",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}],
            }
        ),
    )
    logs_policy = iam.create_policy(
        PolicyName="tap-processor-logs-dev",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}],
            }
        ),
    )
    iam.attach_role_policy(RoleName="tap-processor-dev", PolicyArn=logs_policy["Policy"]["Arn"])
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    clients("lambda", REGION).create_function(
        FunctionName="tap-processor-dev",
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="index.handler",
        Code={"ZipFile": package.getvalue()},
    )
    clients("logs", REGION).create_log_group(logGroupName="/aws/lambda/tap-processor-dev")
    clients("dynamodb", REGION).create_table(
        TableName="tap-trades-dev",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        DeletionProtectionEnabled=True,
    )
    clients("sqs", REGION).create_queue(QueueName="tap-orders-dev")
    clients("sns", REGION).create_topic(Name="tap-alerts-dev")
    clients("cloudwatch", REGION).put_metric_alarm(
        AlarmName="tap-errors-dev",
        MetricName="Errors",
        Namespace="AWS/Lambda",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    api = clients("apigatewayv2", REGION).create_api(Name="tap-api-dev", ProtocolType="HTTP")
    assert api["ApiId"]
    kms = clients("kms", REGION)
    key = kms.create_key(Description="tap dev")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/tap-data-dev", TargetKeyId=key)
    clients("secretsmanager", REGION).create_secret(Name="tap/dev/api-access", SecretString="x")
    return [
        Leftover("global iam role", "tap-processor-dev"),
        Leftover(f"{REGION} lambda function", "tap-processor-dev"),
        Leftover(f"{REGION} log group", "/aws/lambda/tap-processor-dev"),
        Leftover(f"{REGION} dynamodb table", "tap-trades-dev"),
        Leftover(f"{REGION} sqs queue", "tap-orders-dev"),
        Leftover(f"{REGION} sns topic", "tap-alerts-dev"),
        Leftover(f"{REGION} alarm", "tap-errors-dev"),
        Leftover(f"{REGION} http api", "tap-api-dev"),
        Leftover(f"{REGION} kms key", key),
        Leftover(f"{REGION} kms alias", "alias/tap-data-dev"),
        Leftover(f"{REGION} secret", "tap/dev/api-access"),
    ]


def _database(subnets: list[str]) -> list[Leftover]:
    rds = clients("rds", REGION)
    rds.create_db_subnet_group(
        DBSubnetGroupName="tap-db-dev", DBSubnetGroupDescription="db", SubnetIds=subnets
    )
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="tap-db-params-dev",
        DBParameterGroupFamily="aurora-mysql8.0",
        Description="db",
    )
    rds.create_db_cluster(
        DBClusterIdentifier="tap-db-dev",
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword="password1234",
        DBSubnetGroupName="tap-db-dev",
        DBClusterParameterGroupName="tap-db-params-dev",
        DeletionProtection=True,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="tap-db-dev-1",
        DBClusterIdentifier="tap-db-dev",
        Engine="aurora-mysql",
        DBInstanceClass="db.r6g.large",
    )
    return [
        Leftover(f"{REGION} db subnet group", "tap-db-dev"),
        Leftover(f"{REGION} db cluster parameter group", "tap-db-params-dev"),
        Leftover(f"{REGION} rds cluster", "tap-db-dev"),
        Leftover(f"{REGION} rds instance", "tap-db-dev-1"),
    ]


def _gone(call: Any, **kwargs: Any) -> bool:
    try:
        answer = call(**kwargs)
    except ClientError:
        return True
    return not any(v for k, v in answer.items() if k != "ResponseMetadata" and isinstance(v, list))


def _assert_everything_gone(leftovers: list[Leftover]) -> None:
    ec2 = clients("ec2", REGION)
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    assert vpcs == []
    subnets = {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
    assert not subnets & {item.name for item in leftovers if item.kind.endswith(" subnet")}
    assert [
        e for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"].lower() != "deleted"
    ] == []
    assert ec2.describe_flow_logs()["FlowLogs"] == []
    assert ec2.describe_internet_gateways()["InternetGateways"] == []
    s3 = clients("s3", REGION)
    assert "tap-data-dev" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert clients("lambda", REGION).list_functions()["Functions"] == []
    iam = clients("iam", REGION)
    assert "tap-processor-dev" not in {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert clients("dynamodb", REGION).list_tables()["TableNames"] == []
    assert clients("logs", REGION).describe_log_groups()["logGroups"] == []
    assert clients("sqs", REGION).list_queues().get("QueueUrls", []) == []
    assert clients("sns", REGION).list_topics()["Topics"] == []
    assert clients("cloudwatch", REGION).describe_alarms()["MetricAlarms"] == []
    assert clients("apigatewayv2", REGION).get_apis()["Items"] == []
    kms = clients("kms", REGION)
    assert (
        kms.list_aliases(KeyId=next(i.name for i in leftovers if i.kind.endswith("kms key")))[
            "Aliases"
        ]
        == []
    )
    for key in kms.list_keys()["Keys"]:
        assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert clients("secretsmanager", REGION).list_secrets()["SecretList"] == []
    rds = clients("rds", REGION)
    assert rds.describe_db_instances()["DBInstances"] == []
    assert rds.describe_db_clusters()["DBClusters"] == []
    assert rds.describe_db_subnet_groups()["DBSubnetGroups"] == []
    groups = rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]
    assert "tap-db-params-dev" not in {g["DBClusterParameterGroupName"] for g in groups}


def test_every_kind_the_platform_creates_is_swept(aws: None) -> None:
    network = _network()
    subnets = [item.name for item in network if item.kind.endswith(" subnet")]
    leftovers = [*_bucket(), *_compute(), *_database(subnets), *network]
    lines = sweep(clients, leftovers, region=REGION)

    assert len(lines) == len(leftovers)
    failed = [line for line in lines if "NOT deleted" in line]
    assert failed == []
    assert any("tap-data-dev: emptied (5 object version(s)" in line for line in lines)
    assert any(
        "tap-processor-dev: deleted (1 inline and 1 attached policy(ies) removed first)" in line
        for line in lines
    )
    assert any("kms key" in line and "scheduled for deletion in 7 days" in line for line in lines)
    assert any("main route table: deleted with the VPC" in line for line in lines)
    assert any("default security group: deleted with the VPC" in line for line in lines)
    _assert_everything_gone(leftovers)

    # a second sweep of the same items: reported, never raised
    again = sweep(clients, leftovers, region=REGION)
    assert len(again) == len(leftovers)
    for line in again:
        assert (
            "already gone" in line or "already scheduled" in line or "deleted with the VPC" in line
        ), line


def test_the_order_puts_users_before_what_they_use() -> None:
    leftovers = [
        Leftover("global iam role", "r"),
        Leftover(f"{REGION} vpc", "vpc-1"),
        Leftover("s3 bucket", "b"),
        Leftover(f"{REGION} db subnet group", "g"),
        Leftover(f"{REGION} rds cluster", "c"),
        Leftover(f"{REGION} rds global cluster", "gc"),
        Leftover(f"{REGION} subnet", "subnet-1"),
        Leftover(f"{REGION} rds instance", "i"),
        Leftover(f"{REGION} lambda function", "f"),
        Leftover(f"{REGION} kms key", "k"),
        Leftover(f"{REGION} kms alias", "alias/k"),
        Leftover(f"{REGION} http api", "a"),
    ]
    order = sweep_order(leftovers)
    position = {label.removeprefix(f"{REGION} "): index for index, label in enumerate(order)}

    def before(first: str, then: str) -> bool:
        return position[first] < position[then]

    assert len(order) == len(leftovers) and order[0] == f"{REGION} http api a"

    assert before("lambda function f", "global iam role r")
    assert before("http api a", "global iam role r")
    assert before("rds instance i", "rds cluster c")
    assert before("rds cluster c", "rds global cluster gc")
    assert before("rds cluster c", "db subnet group g")
    assert before("db subnet group g", "subnet subnet-1")
    assert before("subnet subnet-1", "vpc vpc-1")
    assert before("kms alias alias/k", "kms key k")


def test_one_failure_is_reported_and_the_rest_goes_on(aws: None) -> None:
    iam = clients("iam", REGION)
    iam.create_role(RoleName="tap-keep-dev", AssumeRolePolicyDocument="{}")
    clients("sqs", REGION).create_queue(QueueName="tap-orders-dev")
    ec2 = clients("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc, CidrBlock="10.5.1.0/24")  # not among the leftovers: in the way
    lines = sweep(
        clients,
        [
            Leftover(f"{REGION} vpc", vpc),
            Leftover(f"{REGION} sqs queue", "tap-orders-dev"),
            Leftover(f"{REGION} teleporter", "x"),
            Leftover("global iam role", "tap-keep-dev"),
        ],
        region=REGION,
    )
    assert lines[0] == f"{REGION} sqs queue tap-orders-dev: deleted"
    assert f"{REGION} vpc {vpc}: NOT deleted: ClientError" in lines[1]
    assert "DependencyViolation" in lines[1]
    assert lines[2].startswith("global iam role tap-keep-dev: deleted")
    assert lines[3] == f"{REGION} teleporter x: NOT deleted: no sweeper for the kind 'teleporter'"


class _Session:
    """What the leftover check asks of a session: its clients."""

    def client(self, service: str, region: str) -> Any:
        return clients(service, region)


def test_what_the_leftover_check_finds_the_sweep_deletes(aws: None) -> None:
    """One registry of kinds: each kind the check finds, the sweep knows how to delete, and a
    check after the sweep finds nothing; another environment's resources and the state's stay."""
    spec = BackendSpec(
        "tap-terraform-locks",
        REGION,
        "tap",
        "CC-1",
        state_buckets=(StateBucket("dev", "tap-terraform-state-dev", "alias/tap-state-dev"),),
    )
    network = _network()
    subnets = [item.name for item in network if item.kind.endswith(" subnet")]
    built = [*_bucket(), *_compute(), *_database(subnets)]
    ec2, kms, rds = clients("ec2", REGION), clients("kms", REGION), clients("rds", REGION)
    flow_log = next(item.name for item in network if item.kind.endswith(" flow log"))
    key = next(item.name for item in built if item.kind.endswith(" kms key"))
    # as the provider's default tags tag them: neither carries a name of the platform
    tags = {"CostCenter": "CC-1", "Environment": "dev"}
    ec2.create_tags(Resources=[flow_log], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])
    rds.create_db_parameter_group(
        DBParameterGroupName="tap-postgres-params-dev",
        DBParameterGroupFamily="postgres16",
        Description="TLS required for every connection",
    )
    clients("sqs", REGION).create_queue(QueueName="tap-orders-prod")
    clients("s3", REGION).create_bucket(
        Bucket="tap-terraform-state-dev",
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )

    def check() -> list[tuple[str, str]]:
        found = leftovers(
            _Session(),  # type: ignore[arg-type]
            [REGION],
            spec,
            cidrs=["10.0.0.0/16"],
            environments=["dev"],
        )
        return [(item.kind, item.name) for item in found]

    found = check()
    assert {kind.removeprefix(f"{REGION} ") for kind, _ in found} == {
        "http api", "alarm", "lambda function", "rds instance", "rds cluster",
        "db subnet group", "db cluster parameter group", "db parameter group", "dynamodb table",
        "sqs queue", "sns topic", "log group", "secret", "vpc endpoint", "flow log", "subnet",
        "route table", "internet gateway", "security group", "vpc", "kms alias", "kms key",
        "s3 bucket", "global iam role",
    }  # fmt: skip
    assert (f"{REGION} sqs queue", "tap-orders-prod") not in found
    assert ("s3 bucket", "tap-terraform-state-dev") not in found
    # in the order of the sweep
    assert [f"{kind} {name}" for kind, name in found] == sweep_order(
        [Leftover(kind, name) for kind, name in found], REGION
    )

    lines = sweep(clients, [Leftover(kind, name) for kind, name in found], region=REGION)
    assert [line for line in lines if "NOT deleted" in line] == []
    assert check() == []
    assert clients("sqs", REGION).get_queue_url(QueueName="tap-orders-prod")["QueueUrl"]


def test_a_database_whose_deletion_was_refused_is_not_waited_for(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A protected instance stays ``available``: its line says NOT deleted at once, where the
    waiter for its deletion would poll it for 20 minutes (80 x 15 s)."""
    polls: list[float] = []
    monkeypatch.setattr("botocore.waiter.time.sleep", polls.append)
    rds = clients("rds", REGION)
    rds.create_db_instance(
        DBInstanceIdentifier="tap-db-dev-1",
        DBInstanceClass="db.t4g.medium",
        Engine="postgres",
        MasterUsername="admin_user",
        MasterUserPassword="password1234",
        AllocatedStorage=20,
        DeletionProtection=True,
    )
    lines = sweep(clients, [Leftover(f"{REGION} rds instance", "tap-db-dev-1")], region=REGION)
    assert len(lines) == 1
    assert lines[0].startswith(f"{REGION} rds instance tap-db-dev-1: NOT deleted: ClientError")
    assert "protection" in lines[0]
    assert polls == []


def test_a_bucket_is_left_once_whatever_the_number_of_regions(aws: None) -> None:
    """ListBuckets answers with every bucket of the account in whichever region it is asked:
    a check of three regions lists each bucket once, not once per region."""
    spec = BackendSpec("tap-terraform-locks", REGION, "tap", "CC-1")
    clients("s3", REGION).create_bucket(
        Bucket="tap-data-dev-ap-southeast-1",
        CreateBucketConfiguration={"LocationConstraint": REGION},
    )
    found = leftovers(
        _Session(),  # type: ignore[arg-type]
        [REGION, "eu-west-1", "us-east-1"],
        spec,
        environments=["dev"],
    )
    assert [(item.kind, item.name) for item in found] == [
        ("s3 bucket", "tap-data-dev-ap-southeast-1")
    ]


def test_a_database_being_deleted_is_waited_for_until_it_is_gone() -> None:
    """On AWS a cluster whose deletion was accepted is ``deleting`` for minutes, and its subnet
    and parameter groups refuse deletion until it is gone: the sweep waits with RDS's waiter."""
    from tooling.lifecycle.resource_kinds.databases import DB_CLUSTER
    from tooling.lifecycle.resource_kinds.model import Item

    waited: list[tuple[str, dict[str, Any]]] = []

    class _Waiter:
        def __init__(self, name: str) -> None:
            self.name = name

        def wait(self, **arguments: Any) -> None:
            waited.append((self.name, arguments))

    class _Rds:
        def describe_db_clusters(self, DBClusterIdentifier: str) -> dict[str, Any]:  # noqa: N803
            return {
                "DBClusters": [{"DBClusterIdentifier": DBClusterIdentifier, "Status": "deleting"}]
            }

        def get_waiter(self, name: str) -> _Waiter:
            return _Waiter(name)

    assert DB_CLUSTER.after is not None
    DB_CLUSTER.after(
        lambda service, region: _Rds(), [Item("rds cluster", REGION, "tap-db-dev", "")]
    )
    assert waited == [
        (
            "db_cluster_deleted",
            {"DBClusterIdentifier": "tap-db-dev", "WaiterConfig": {"Delay": 15, "MaxAttempts": 80}},
        )
    ]

"""tooling.moto_launcher: each compatibility patch is needed (unpatched moto has the gap of
EMULATOR-NOTES.md) and fixes it, seen through boto3 against moto's in-process server."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from werkzeug.test import Client

from tests.tooling.moto_clients import client, create_regional_domain_name, named, reset_moto
from tooling import moto_launcher
from tooling.moto_launcher import PATCHES, STATUS_PATH, build_app, patched

pytestmark = pytest.mark.moto

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"
Clients = Callable[[str], Any]


@pytest.fixture
def aws(endpoint: str) -> Clients:
    """boto3 clients of a freshly reset in-process moto server."""
    reset_moto(endpoint)
    return partial(client, endpoint, region=REGION, reset=False)


# --------------------------------------------------------------------------- gap 2


def _create_db_instances(rds: Any) -> dict[str, str]:
    """Two PostgreSQL instances, an Aurora writer, a read replica: name -> DbiResourceId."""
    common = {"MasterUsername": "app", "MasterUserPassword": "password1234"}
    for name in ("pg-a", "pg-b"):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            **common,
        )
    rds.create_db_cluster(DBClusterIdentifier="aurora", Engine="aurora-mysql", **common)
    rds.create_db_instance(
        DBInstanceIdentifier="aurora-1",
        DBClusterIdentifier="aurora",
        Engine="aurora-mysql",
        DBInstanceClass="db.r6g.large",
    )
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="pg-a-replica", SourceDBInstanceIdentifier="pg-a"
    )
    instances = rds.describe_db_instances()["DBInstances"]
    return {i["DBInstanceIdentifier"]: i["DbiResourceId"] for i in instances}


def _find_by_resource_id(rds: Any, resource_id: str) -> list[str]:
    """How the aws provider reads aws_db_instance: the dbi-resource-id filter."""
    found = rds.describe_db_instances(
        Filters=[{"Name": "dbi-resource-id", "Values": [resource_id]}]
    )
    return [i["DBInstanceIdentifier"] for i in found["DBInstances"]]


def test_gap2_unpatched_moto_gives_every_db_instance_the_same_resource_id(aws: Clients) -> None:
    rds = aws("rds")
    ids = _create_db_instances(rds)
    assert len(ids) == 4
    assert set(ids.values()) == {"db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"}
    assert len(_find_by_resource_id(rds, ids["pg-b"])) == 4


def test_gap2_patch_gives_each_db_instance_its_own_resource_id(aws: Clients) -> None:
    rds = aws("rds")
    with patched(named("rds-unique-dbi-resource-id")):
        ids = _create_db_instances(rds)
        assert len(set(ids.values())) == len(ids) == 4
        assert all(re.fullmatch(r"db-[A-Z0-9]{26}", value) for value in ids.values())
        for name, resource_id in ids.items():  # stable, and each finds exactly its instance
            assert _find_by_resource_id(rds, resource_id) == [name]


# --------------------------------------------------------------------------- gap 4 (Lambda)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _create_function_with_dlq(aws: Clients) -> tuple[Any, str]:
    role = aws("iam").create_role(
        RoleName="fn",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:fn-dlq"
    awslambda = aws("lambda")
    awslambda.create_function(
        FunctionName="fn",
        Runtime="python3.11",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        DeadLetterConfig={"TargetArn": dlq},
    )
    return awslambda, dlq


def test_gap4_unpatched_moto_drops_the_lambda_dead_letter_config(aws: Clients) -> None:
    awslambda, _ = _create_function_with_dlq(aws)
    assert "DeadLetterConfig" not in awslambda.get_function(FunctionName="fn")["Configuration"]
    assert "DeadLetterConfig" not in awslambda.get_function_configuration(FunctionName="fn")


def test_gap4_patch_returns_the_lambda_dead_letter_config(aws: Clients) -> None:
    with patched(named("lambda-dead-letter-config")):
        awslambda, dlq = _create_function_with_dlq(aws)
        expected = {"TargetArn": dlq}
        assert awslambda.get_function(FunctionName="fn")["Configuration"]["DeadLetterConfig"] == (
            expected
        )
        assert awslambda.get_function_configuration(FunctionName="fn")["DeadLetterConfig"] == (
            expected
        )
        # The provider removes it with an empty TargetArn, and may set it again.
        awslambda.update_function_configuration(
            FunctionName="fn", DeadLetterConfig={"TargetArn": ""}
        )
        assert "DeadLetterConfig" not in awslambda.get_function_configuration(FunctionName="fn")
        other = f"{dlq}-2"
        awslambda.update_function_configuration(
            FunctionName="fn", DeadLetterConfig={"TargetArn": other}
        )
        configuration = awslambda.get_function_configuration(FunctionName="fn")
        assert configuration["DeadLetterConfig"] == {"TargetArn": other}


# --------------------------------------------------------------------------- gap 3


def _create_domain_name(aws: Clients) -> dict[str, Any]:
    apigw = aws("apigatewayv2")
    create_regional_domain_name(apigw, "api.example.com", region=REGION, account=ACCOUNT)
    domain: dict[str, Any] = apigw.get_domain_name(DomainName="api.example.com")
    return domain


def test_gap3_unpatched_moto_has_no_domain_name_status(aws: Clients) -> None:
    domain = _create_domain_name(aws)
    (configuration,) = domain["DomainNameConfigurations"]
    assert "DomainNameStatus" not in configuration
    assert domain["MutualTlsAuthentication"] == {}  # AWS returns none: a perpetual diff


def test_gap3_patch_reports_available_domain_names(aws: Clients) -> None:
    with patched(named("apigatewayv2-domain-name-status")):
        domain = _create_domain_name(aws)
        (configuration,) = domain["DomainNameConfigurations"]
        assert configuration["DomainNameStatus"] == "AVAILABLE"
        assert configuration["EndpointType"] == "REGIONAL"
        assert "MutualTlsAuthentication" not in domain
        listed = aws("apigatewayv2").get_domain_names()["Items"]
        assert listed[0]["DomainNameConfigurations"][0]["DomainNameStatus"] == "AVAILABLE"


# --------------------------------------------------------------------------- gap 4 (SG): no patch


def test_gap4_security_group_reference_already_matches_aws(aws: Clients) -> None:
    """moto reports a same-account reference like AWS: the caller's account as UserId.

    The provider turns it into ``<account>/<sg-id>`` only when it does not know its account
    (``skip_requesting_account_id``); the local target lets it ask STS, which answers the same
    account. So this gap needs no patch (tooling.emulator.process.local_provider_config).
    """
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    target, source = (
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("target", "source")
    )
    ec2.authorize_security_group_ingress(
        GroupId=target,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": source}],
            }
        ],
    )
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [target]}])
    (ingress,) = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
    assert ingress["ReferencedGroupInfo"]["GroupId"] == source
    assert ingress["ReferencedGroupInfo"]["UserId"] == ACCOUNT
    assert aws("sts").get_caller_identity()["Account"] == ACCOUNT


# --------------------------------------------------------------------------- mechanics


def test_every_patch_cites_its_gap_and_undoes_cleanly() -> None:
    from moto.apigatewayv2.models import DomainName
    from moto.awslambda.models import LambdaFunction
    from moto.rds.models import DBInstance

    originals = {
        (owner, name): owner.__dict__[name]
        for owner, names in (
            (DBInstance, ("__init__", "set_as_replica")),
            (LambdaFunction, ("__init__", "update_configuration", "get_configuration")),
            (DomainName, ("to_json",)),
        )
        for name in names
    }
    for patch in PATCHES:
        assert f"gap {patch.gap}" in (patch.apply.__doc__ or "")
    with patched():
        assert all(owner.__dict__[name] is not fn for (owner, name), fn in originals.items())
        with pytest.raises(RuntimeError, match="already patched"):
            moto_launcher.apply_patches()
    assert all(owner.__dict__[name] is fn for (owner, name), fn in originals.items())


def test_status_endpoint_names_pid_and_patches() -> None:
    response = Client(build_app(PATCHES)).get(STATUS_PATH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["pid"] > 0
    assert [p["name"] for p in body["patches"]] == [p.name for p in PATCHES]

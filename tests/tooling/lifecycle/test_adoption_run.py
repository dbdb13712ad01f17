"""tooling.lifecycle.adoption_run through :func:`.runs.apply_stack`, end to end with real terraform
(local provider mirror) against moto: an apply that finds what an interrupted apply left
outside the state plans it, adopts it with import blocks and applies again, and the stack
converges."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.tooling.conftest import fresh_local_session
from tests.tooling.lifecycle import crash_support as crash
from tooling.lifecycle.adoption import ADOPT_FILE
from tooling.lifecycle.adoption_run import ADOPT_PLAN
from tooling.lifecycle.runs import PLAN_NO_CHANGES, apply_stack, init_stack, plan_stack

pytestmark = pytest.mark.moto

REGION = "eu-west-1"
BUCKET = "tap-run-data-dev-eu-west-1-123456789012"


def test_apply_stack_adopts_what_exists_and_converges(
    endpoint: str, terraform_repo: Path, tmp_path: Path
) -> None:
    # GIVEN a bucket named after the account (a data source) and a table that exist in AWS,
    # and a stack that has never recorded them
    session = fresh_local_session(endpoint, terraform_repo)
    session.client("s3", REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    session.client("dynamodb", REGION).create_table(
        TableName="tap-run-trades-dev",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    account = "${data.aws_caller_identity.CallerIdentity.account_id}"
    document = crash.stack_document(
        endpoint,
        REGION,
        {
            "aws_s3_bucket": {"Data": {"bucket": f"tap-run-data-dev-eu-west-1-{account}"}},
            "aws_dynamodb_table": {
                "Trades": {
                    "name": "tap-run-trades-dev",
                    "hash_key": "pk",
                    "billing_mode": "PAY_PER_REQUEST",
                    "attribute": [{"name": "pk", "type": "S"}],
                }
            },
        },
    )
    document["data"] = {"aws_caller_identity": {"CallerIdentity": {}}}
    stack_dir = tmp_path / "tap-dev-eu-west-1-app"
    crash.write_config(stack_dir, document)
    init_stack(session, stack_dir)
    # WHEN it is applied
    notes: list[str] = []
    result = apply_stack(session, stack_dir, out=io.StringIO(), note=notes.append)
    # THEN both were adopted by the IDs Terraform's plan gave, in one more apply
    assert result.adopted == ["aws_dynamodb_table.Trades", "aws_s3_bucket.Data"]
    assert len(notes) == 1
    assert notes[0].startswith(
        "tap-dev-eu-west-1-app: 2 resource(s) exist but are missing from the state"
    )
    assert BUCKET in notes[0] and "tap-run-trades-dev" in notes[0]
    assert not (stack_dir / ADOPT_FILE).exists() and not (stack_dir / ADOPT_PLAN).exists()
    # AND the stack converged: nothing left to do
    code, output = plan_stack(session, stack_dir, out=io.StringIO())
    assert code == PLAN_NO_CHANGES, output

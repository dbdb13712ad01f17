"""Helpers of the lifecycle tests that run real terraform against a moto server: the fake
credentials, the aws provider and the S3 backend pointed at it, as the local target does; the
JSON UI messages of a run and the plan an adoption reads; and, for a fake terraform, recorded
messages and plans made to a test's measure."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

from tooling.emulator.process import FAKE_CREDENTIALS, PROVIDER_ENDPOINT_SERVICES
from tooling.lifecycle.import_ids import PlannedResources, planned_resources
from tooling.lifecycle.terraform_events import Message, parse
from tooling.terraform import run_terraform

STATE_BUCKET = "tap-terraform-state-store"
LOCK_TABLE = "tap-terraform-locks"


def aws_env(region: str) -> dict[str, str]:
    """Fake credentials and no shared configuration: nothing can reach real AWS."""
    return {
        "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS.access_key_id,
        "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS.secret_access_key,
        "AWS_SESSION_TOKEN": FAKE_CREDENTIALS.session_token,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


def client(endpoint: str, service: str, region: str) -> Any:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    ).client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def provider(endpoint: str, region: str) -> dict[str, Any]:
    """The aws provider of the local target (tooling.emulator.process.local_provider_config)."""
    return {
        "region": region,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": "true",
        "s3_use_path_style": True,
        "endpoints": [{service: endpoint for service in PROVIDER_ENDPOINT_SERVICES}],
    }


def stack_document(endpoint: str, region: str, resources: Mapping[str, Any]) -> dict[str, Any]:
    """A stack's configuration: the pinned aws provider pointed at ``endpoint``, ``resources``."""
    return {
        "terraform": {
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}
        },
        "provider": {"aws": [provider(endpoint, region)]},
        "resource": dict(resources),
    }


def backend(endpoint: str, key: str, region: str) -> dict[str, Any]:
    """An S3 backend like the synthesized stacks' (lock table and native S3 lock file)."""
    return {
        "bucket": STATE_BUCKET,
        "key": key,
        "region": region,
        "dynamodb_table": LOCK_TABLE,
        "use_lockfile": True,
        "use_path_style": True,
        "skip_credentials_validation": True,
        "skip_metadata_api_check": True,
        "skip_requesting_account_id": True,
        "endpoints": {"s3": endpoint, "dynamodb": endpoint, "sts": endpoint, "iam": endpoint},
    }


def create_backend(endpoint: str, region: str) -> None:
    """The state bucket and the lock table (what ``bootstrap-backend`` creates)."""
    client(endpoint, "s3", region).create_bucket(
        Bucket=STATE_BUCKET, CreateBucketConfiguration={"LocationConstraint": region}
    )
    client(endpoint, "dynamodb", region).create_table(
        TableName=LOCK_TABLE,
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def write_config(stack_dir: Path, document: Mapping[str, Any]) -> Path:
    stack_dir.mkdir(parents=True, exist_ok=True)
    path = stack_dir / "cdk.tf.json"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def terraform(
    args: Sequence[str], stack_dir: Path, repo: Path, region: str
) -> subprocess.CompletedProcess[str]:
    """``terraform *args -no-color`` (captured, never raising) with the project's CLI
    configuration (the local provider mirror) and the fake credentials."""
    return run_terraform(
        [*args, "-no-color"],
        cwd=stack_dir,
        repo_root=repo,
        env_extra=aws_env(region),
        capture=True,
        check=False,
    )


def messages(result: subprocess.CompletedProcess[str]) -> list[Message]:
    """The JSON UI messages of a ``-json`` run's standard output."""
    return [parse(line) for line in result.stdout.splitlines()]


def planned(stack_dir: Path, repo: Path, region: str) -> PlannedResources:
    """What Terraform plans for the stack from its configuration and state, as the adoption
    reads it: ``plan -refresh=false -lock=false -out`` and ``show -json`` of that plan."""
    plan_file = stack_dir / "adopt.tfplan"
    plan = terraform(
        ["plan", "-refresh=false", "-lock=false", "-input=false", "-json", f"-out={plan_file}"],
        stack_dir,
        repo,
        region,
    )
    assert plan.returncode == 0, plan.stdout + plan.stderr
    shown = terraform(["show", "-json", str(plan_file)], stack_dir, repo, region)
    assert shown.returncode == 0, shown.stderr
    plan_file.unlink()
    return planned_resources(json.loads(shown.stdout))


def with_fields(line: str, **fields: str) -> str:
    """The recorded diagnostic ``line`` with other ``fields`` (the address of a test's stack,
    the name of its resource)."""
    message = json.loads(line)
    message["diagnostic"].update(fields)
    return json.dumps(message)


def shown_plan(*resources: tuple[str, str, dict[str, Any]], state: Any = ()) -> dict[str, Any]:
    """A ``terraform show -json`` document of a plan: ``resources`` planned, ``state`` in the
    state, each (address, type, values)."""

    def module(items: Any) -> dict[str, Any]:
        return {
            "root_module": {
                "resources": [
                    {"address": a, "mode": "managed", "type": t, "name": a.split(".")[1],
                     "values": v}
                    for a, t, v in items
                ]
            }
        }  # fmt: skip

    return {"planned_values": module(resources), "prior_state": {"values": module(state)}}


def write_lines(path: Path, lines: Any) -> Path:
    """``path`` holding ``lines``, one a line (what a fake terraform prints)."""
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path

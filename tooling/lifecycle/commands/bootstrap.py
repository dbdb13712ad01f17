"""What the stacks need in an account before they run: the state backend, and (local target
only) what an account already has.

``bootstrap-backend`` runs :func:`bootstrap_environments`, which also creates the CI pipeline's
identity of platform.toml ``[pipeline]`` (:func:`pipeline_for`); deploy and destroy run
:func:`bootstrap` first (never the pipeline's roles: a deploy does not change the roles it may
run with), and deploy prepares (destroy removes) the local account fixtures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import TYPE_CHECKING

from tooling.lifecycle.backend import backend_spec, bootstrap_backend
from tooling.lifecycle.commands.context import ordered_stacks, session_for
from tooling.lifecycle.errors import LifecycleError
from tooling.lifecycle.pipeline_identity import check_repository, pipeline_spec, stack_types
from tooling.lifecycle.pipeline_model import PipelineSpec
from tooling.lifecycle.selection import select_environments

if TYPE_CHECKING:
    from trading_infra.config import PlatformConfig

    from tooling.lifecycle.session import Session
    from tooling.lifecycle.workspace import Workspace

__all__ = ["bootstrap", "bootstrap_environments", "local_fixtures", "pipeline_for"]


def bootstrap_environments(ws: Workspace, env: str) -> None:
    """``bootstrap-backend``: the state backends of the environments ``env`` selects, their
    key administrators and the pipeline's identity, each in the account its environment
    deploys into."""
    config = ws.config()
    environments = select_environments(config, env)
    check_repository(config, ws.target)
    pipeline = pipeline_for(ws, config)
    bootstrap(ws, session_for(ws), environments, pipeline=pipeline)


def pipeline_for(ws: Workspace, config: PlatformConfig) -> PipelineSpec | None:
    """The pipeline identity of ``config``, from the block types every environment's stacks
    declare (synthesized first: the plan role of an account covers all its environments);
    None, said so, without ``[pipeline]``."""
    if config.pipeline is None:
        ws.echo(
            "bootstrap-backend: no [pipeline] in platform.toml: the CI pipeline's OIDC provider "
            "and roles are not created (docs/delivery.md)"
        )
        return None
    return pipeline_spec(config, stack_types(ordered_stacks(ws, "all")))


def bootstrap(
    ws: Workspace,
    session: Session,
    environments: Collection[str] | None = None,
    *,
    pipeline: PipelineSpec | None = None,
) -> None:
    """Create the Terraform state buckets (of ``environments``; None: every environment) and
    the lock table of platform.toml ``[state]``; with ``pipeline``, the pipeline's identity."""
    from botocore.exceptions import BotoCoreError, ClientError

    spec = dataclasses.replace(backend_spec(ws.config()), pipeline=pipeline)
    if environments is not None:
        spec = spec.for_environments(environments)
    try:
        for line in bootstrap_backend(session, spec):
            ws.echo(f"bootstrap-backend: {line}")
    except (ClientError, BotoCoreError) as error:
        raise LifecycleError(
            f"bootstrap-backend failed: {error}. For --target aws check your AWS credentials "
            "and permissions (sts:GetCallerIdentity, s3:ListAllMyBuckets, s3:CreateBucket, "
            "kms:CreateKey, dynamodb:CreateTable, iam:GetRole, iam:CreateRole, and with "
            "[pipeline] iam:CreateOpenIDConnectProvider, iam:PutRolePolicy, ...)."
        ) from None


def local_fixtures(
    ws: Workspace, session: Session, environments: list[str], *, remove: bool = False
) -> None:
    """Local target only: prepare (or, after destroy, remove) what an account already has and
    the environments expect (hosted zone, master secret, rotation function; see
    tooling/emulator/fixtures.py). Never for aws: there the account provides them."""
    if session.emulator is None:
        return
    from botocore.exceptions import BotoCoreError, ClientError

    from tooling.emulator import fixtures as account_fixtures

    config = ws.config()
    for name in environments:
        fixtures = account_fixtures.fixtures_for(config.environment(name))
        if not fixtures.needed:
            continue
        action = account_fixtures.remove if remove else account_fixtures.prepare
        try:
            for line in action(session, fixtures):
                ws.echo(f"account fixtures ({name}, local): {line}")
        except (ClientError, BotoCoreError) as error:
            raise LifecycleError(f"account fixtures of {name} failed: {error}") from None

"""The CI pipeline's identity (platform.toml ``[pipeline]``): which GitHub repository's workflows
may assume the plan, drift and deploy roles ``./tap bootstrap-backend`` creates in each account.

GitHub Actions presents an OpenID Connect token whose ``sub`` claim names the repository and
either the pull request (``repo:OWNER/REPO:pull_request``), the GitHub environment of the job
(``repo:OWNER/REPO:environment:NAME``) or, for a job in no environment, the branch it runs on
(``repo:OWNER/REPO:ref:refs/heads/main``): GitHub's "OpenID Connect reference",
https://docs.github.com/en/actions/reference/security/oidc. The roles' trust policies compare
these values with ``StringEquals``, which is case-sensitive: write the repository and the
environment names exactly as GitHub shows them.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from trading_infra.config._base import _Frozen

#: The repository the shipped platform.toml names: a placeholder every user replaces. The local
#: target works with it (the emulator has no GitHub); the aws target refuses it.
EXAMPLE_GITHUB_REPOSITORY = "example-org/trading-platform"

#: GitHub account names: letters, digits and single hyphens, not first or last, at most 39;
#: repository names: letters, digits, ``.``, ``_``, ``-``, at most 100 (never ``.`` or ``..``).
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_REPOSITORY = re.compile(rf"^(?P<owner>{_OWNER})/(?P<name>[A-Za-z0-9._-]{{1,100}})$")
#: A GitHub environment name as it appears in the ``sub`` claim. ``:`` separates the claim's
#: fields, so it (and anything but these characters) is refused.
_GITHUB_ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
#: IAM role names (IAM User Guide, "IAM and AWS STS quotas":
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")


class PipelineSettings(_Frozen):
    """platform.toml ``[pipeline]``: the repository, the role names, the GitHub environments."""

    #: ``owner/name`` of the repository whose workflows may assume the roles.
    github_repository: str
    #: The read-only role of pull-request plans (one per account). Default
    #: ``<platform>-pipeline-plan``.
    plan_role: str | None = None
    #: The role of the nightly drift job (one per account): the plan role's reads and the drift
    #: metric's PutMetricData. Default ``<platform>-pipeline-drift``.
    drift_role: str | None = None
    #: Each environment's deploy role is ``<deploy_role_prefix>-<environment>``. Default
    #: ``<platform>-pipeline-deploy``.
    deploy_role_prefix: str | None = None
    #: Platform environment -> the GitHub environment its deploy job runs in (default: the
    #: platform environment's own name).
    github_environments: dict[str, str] = Field(default_factory=dict)

    @field_validator("github_repository")
    @classmethod
    def _owner_and_name(cls, value: str) -> str:
        match = _REPOSITORY.match(value)
        if match is None or match["name"] in (".", ".."):
            raise ValueError(
                f"pipeline.github_repository = {value!r} is not a GitHub repository; write "
                "'owner/name' as GitHub shows it, e.g. 'acme-trading/trading-platform'"
            )
        return value

    @field_validator("plan_role", "drift_role", "deploy_role_prefix")
    @classmethod
    def _role_name(cls, value: str | None) -> str | None:
        if value is None or _ROLE_NAME.match(value):
            return value
        raise ValueError(
            f"{value!r} cannot be (part of) an IAM role name; use 1-64 letters, digits or +=,.@_-"
        )

    @field_validator("github_environments")
    @classmethod
    def _environment_names(cls, value: dict[str, str]) -> dict[str, str]:
        for platform_environment, name in value.items():
            if not _GITHUB_ENVIRONMENT.match(name):
                raise ValueError(
                    f"pipeline.github_environments.{platform_environment} = {name!r}; use 1-255 "
                    "letters, digits, '.', '_' or '-' (the name becomes part of the token's "
                    "sub claim, whose fields ':' separates)"
                )
        return value

    @property
    def is_example(self) -> bool:
        """Whether the repository is still the shipped placeholder."""
        return self.github_repository == EXAMPLE_GITHUB_REPOSITORY

    def plan_role_name(self, platform: str) -> str:
        """The plan role's name: ``plan_role``, else ``<platform>-pipeline-plan``."""
        return self.plan_role or f"{platform}-pipeline-plan"

    def drift_role_name(self, platform: str) -> str:
        """The drift role's name: ``drift_role``, else ``<platform>-pipeline-drift``."""
        return self.drift_role or f"{platform}-pipeline-drift"

    def deploy_role_name(self, platform: str, environment: str) -> str:
        """``environment``'s deploy role: ``<deploy_role_prefix>-<environment>``."""
        return f"{self.deploy_role_prefix or f'{platform}-pipeline-deploy'}-{environment}"

    def github_environment(self, environment: str) -> str:
        """The GitHub environment of ``environment``'s deploy job."""
        return self.github_environments.get(environment, environment)

"""Resource names: ``{platform}-{resource-type}-{environment-suffix}[-{region}]``, and for
buckets (names global across all accounts) ``...-{region}-{unique suffix}``.

Each AWS service has its own length and character rules; they live in :data:`NAME_RULES` as
data, and a name that breaks them is an error at synth time (not at apply time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class NamingError(ValueError):
    """A generated resource name breaks its service's rules."""


@dataclass(frozen=True)
class NameRule:
    max_length: int
    pattern: re.Pattern[str]
    description: str


_LOWER_DNS = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
_GENERIC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

#: Per-kind limits, from each service's API reference.
NAME_RULES: dict[str, NameRule] = {
    "s3_bucket": NameRule(63, _LOWER_DNS, "3-63 lowercase letters, digits and hyphens"),
    "lambda_function": NameRule(64, re.compile(r"^[A-Za-z0-9_-]+$"), "letters, digits, - and _"),
    "iam_role": NameRule(64, re.compile(r"^[A-Za-z0-9+=,.@_-]+$"), "letters, digits, +=,.@_-"),
    "dynamodb_table": NameRule(255, _GENERIC, "letters, digits, _ . -"),
    "sqs_queue": NameRule(80, re.compile(r"^[A-Za-z0-9_-]+$"), "letters, digits, - and _"),
    "sns_topic": NameRule(256, re.compile(r"^[A-Za-z0-9_-]+$"), "letters, digits, - and _"),
    "rds_identifier": NameRule(
        63,
        re.compile(r"^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$"),
        "lowercase letter first, letters, digits, single hyphens, 1-63 characters",
    ),
    "log_group": NameRule(512, re.compile(r"^[A-Za-z0-9_./#-]+$"), "letters, digits, _ . / # -"),
    "kms_alias": NameRule(256, re.compile(r"^alias/[A-Za-z0-9/_-]+$"), "alias/ + letters..."),
    "security_group": NameRule(255, _GENERIC, "letters, digits, _ . -"),
    "api": NameRule(128, _GENERIC, "letters, digits, _ . -"),
    "cloudwatch_alarm": NameRule(255, _GENERIC, "letters, digits, _ . -"),
    "generic": NameRule(255, _GENERIC, "letters, digits, _ . -"),
}


#: An AWS account id is 12 digits.
ACCOUNT_ID_DIGITS = 12


@dataclass(frozen=True)
class UniqueSuffix:
    """What ends a globally unique name (an S3 bucket's) so that no other account holds it.

    ``value`` goes into the name; ``checked_as`` stands in for it when the name's rules are
    checked at synth time: the account id is a Terraform token until apply, so its 12 digits
    are checked as 12 characters.
    """

    value: str
    checked_as: str

    @classmethod
    def account_id(cls, token: str) -> UniqueSuffix:
        """The deploying account's id (``data.aws_caller_identity``): 12 digits."""
        return cls(token, checked_as="0" * ACCOUNT_ID_DIGITS)

    @classmethod
    def literal(cls, suffix: str) -> UniqueSuffix:
        return cls(suffix, checked_as=suffix)


@dataclass(frozen=True)
class Namer:
    """Builds every resource name of one environment in one region."""

    platform: str
    suffix: str
    region: str

    def name(self, resource_type: str, *, kind: str = "generic", regional: bool = False) -> str:
        """``{platform}-{resource_type}-{suffix}``, plus ``-{region}`` when ``regional``."""
        parts = [self.platform, resource_type, self.suffix]
        if regional:
            parts.append(self.region)
        return check_name("-".join(parts), kind)

    def bucket(self, resource_type: str, *, unique: UniqueSuffix) -> str:
        """``{platform}-{resource_type}-{suffix}-{region}-{unique}``: bucket names are global
        across all AWS accounts, so each ends with what makes it this deployment's alone.
        The rules are checked on the name as it will be (``unique.checked_as``)."""
        base = self.name(resource_type, regional=True)
        check_name(f"{base}-{unique.checked_as}", "s3_bucket")
        return f"{base}-{unique.value}"

    def log_group(self, path: str) -> str:
        return check_name(f"/{self.platform}/{self.suffix}/{path}", "log_group")

    def kms_alias(self, purpose: str) -> str:
        return check_name(f"alias/{self.platform}-{purpose}-{self.suffix}", "kms_alias")


def check_name(name: str, kind: str) -> str:
    """Return ``name`` if it satisfies the rules of ``kind``; raise NamingError otherwise."""
    rule = NAME_RULES[kind]
    if len(name) > rule.max_length:
        raise NamingError(
            f"{kind} name {name!r} is {len(name)} characters, the limit is {rule.max_length}; "
            "shorten platform.name or the environment suffix in platform.toml"
        )
    if not rule.pattern.match(name):
        raise NamingError(
            f"{kind} name {name!r} breaks the naming rule ({rule.description}); "
            "change platform.name or the environment suffix in platform.toml"
        )
    return name

"""Where a synthesized stack deploys: real AWS, or the local emulator on loopback.

Only the ``local`` target carries emulator endpoints, moto's fake credentials and skipped
account checks; the ``aws`` target carries none of them (tests/infra/test_names_tags_targets.py).
The emulated services and their endpoints are defined here once (:data:`EMULATED_SERVICES`,
:func:`emulator_endpoints`); the emulator's own description of the local provider derives from
them. Importing this module is cheap: the provider bindings are loaded only when a provider's
settings are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

TargetKind = Literal["local", "aws"]

#: AWS provider ``endpoints`` arguments the platform's resources use (provider 5.100.0 names;
#: ``appautoscaling`` is Application Auto Scaling, ``applicationautoscaling`` its alias).
EMULATED_SERVICES: tuple[str, ...] = (
    "acm", "apigatewayv2", "appautoscaling", "cloudwatch", "dynamodb", "ec2", "iam", "kms",
    "lambda", "logs", "rds", "route53", "s3", "secretsmanager", "sns", "sqs", "sts",
)  # fmt: skip

#: moto accepts any credentials; these are its documented fake values, not a secret.
EMULATOR_ACCESS_KEY_ID = "testing"
EMULATOR_SECRET_ACCESS_KEY = "testing"  # noqa: S105 (fake credential of the local emulator)


def emulator_endpoints(endpoint: str) -> dict[str, str]:
    """The aws provider's ``endpoints`` block (Terraform argument names) pointing every
    :data:`EMULATED_SERVICES` service at ``endpoint``."""
    return {service: endpoint for service in EMULATED_SERVICES}


@dataclass(frozen=True)
class DeployTarget:
    kind: TargetKind
    emulator_port: int

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def emulator_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def provider_settings(self) -> dict[str, Any]:
        """Extra AwsProvider arguments for this target (none for real AWS)."""
        if not self.is_local:
            return {}
        from cdktf_cdktf_provider_aws.provider import AwsProviderEndpoints

        endpoints = emulator_endpoints(self.emulator_endpoint)
        return {
            "access_key": EMULATOR_ACCESS_KEY_ID,
            "secret_key": EMULATOR_SECRET_ACCESS_KEY,
            "skip_credentials_validation": True,
            "skip_metadata_api_check": "true",
            "skip_requesting_account_id": False,
            "s3_use_path_style": True,
            # The Python binding spells the ``lambda`` argument ``lambda_`` (a keyword).
            "endpoints": [
                AwsProviderEndpoints(
                    **{
                        ("lambda_" if name == "lambda" else name): url
                        for name, url in endpoints.items()
                    }
                )
            ],
        }

    def backend_settings(self) -> dict[str, Any]:
        """Extra S3 backend arguments for this target (none for real AWS)."""
        if not self.is_local:
            return {}
        endpoint = self.emulator_endpoint
        return {
            "access_key": EMULATOR_ACCESS_KEY_ID,
            "secret_key": EMULATOR_SECRET_ACCESS_KEY,
            "skip_credentials_validation": True,
            "skip_metadata_api_check": True,
            "skip_requesting_account_id": True,
            "use_path_style": True,
            "endpoints": {"s3": endpoint, "dynamodb": endpoint, "sts": endpoint, "iam": endpoint},
        }

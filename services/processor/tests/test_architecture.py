"""Structural rules of the package."""

from __future__ import annotations

import re
import subprocess
import sys


def test_importing_the_handler_loads_no_sdk_logger_or_pydantic() -> None:
    code = (
        "import sys, processor.handler\n"
        "roots = ('boto3', 'botocore', 'aws_lambda_powertools', 'pydantic', 'pydantic_core')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.split('.')[0] in roots}))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"


def test_the_domain_imports_no_aws_sdk() -> None:
    code = (
        "import sys, processor.domain.service, processor.events, processor.config\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )

    assert result.stdout.strip() == "[]"


def test_the_adapters_docstring_lists_the_iam_actions() -> None:
    import processor.adapters

    doc = processor.adapters.__doc__ or ""
    actions = sorted(
        re.findall(r"^    ((?:s3|dynamodb|kms|lambda):[A-Za-z]+)\b", doc, re.MULTILINE)
    )
    mentioned = set(re.findall(r"\b(?:s3|dynamodb|lambda):[A-Za-z]+\b", doc))

    assert actions == [
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "lambda:InvokeFunction",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
    ]
    assert mentioned == set(actions)

"""LambdaTarget: the pip platform tags of each Lambda runtime."""

from __future__ import annotations

import pytest

from tooling.build.lambda_zip import LambdaTarget


def test_x86_64_target_accepts_manylinux2014_and_manylinux_2_28_wheels() -> None:
    platforms = LambdaTarget().pip_platforms

    assert "manylinux2014_x86_64" in platforms
    assert "manylinux_2_28_x86_64" in platforms
    assert platforms[0] == "manylinux_2_34_x86_64"  # python3.12 runs on Amazon Linux 2023


def test_arm64_target_uses_aarch64_tags() -> None:
    platforms = LambdaTarget(architecture="arm64").pip_platforms

    assert "manylinux2014_aarch64" in platforms
    assert "manylinux_2_28_aarch64" in platforms
    assert all(tag.endswith("_aarch64") for tag in platforms)


def test_python311_target_stops_at_amazon_linux_2_glibc() -> None:
    platforms = LambdaTarget(python_version="3.11").pip_platforms

    assert platforms[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_28_x86_64" not in platforms


@pytest.mark.parametrize(
    ("python_version", "architecture"), [("3", "x86_64"), ("3.12.1", "x86_64"), ("3.12", "amd64")]
)
def test_invalid_target_is_rejected(python_version: str, architecture: str) -> None:
    with pytest.raises(ValueError, match="must"):
        LambdaTarget(python_version=python_version, architecture=architecture)  # type: ignore[arg-type]

"""The environment variables of an execution environment: Lambda's, and nothing of ours.

A worker's environment is built from scratch (the emulator's own variables, its PYTHONPATH
and the developer's AWS profile never leak in): the function's configured variables, then the
defaults Lambda lets a configuration override (``LANG``, ``TZ``, ``PATH``), then the variables
Lambda reserves (a configured value never wins, as in Lambda), then the ones that keep every
AWS call of the function on the emulator's loopback endpoint, signed with ``credentials`` (its
execution role's, :mod:`tooling.emulator.runtime.role_credentials`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from tooling.emulator.runtime.model import RESERVED_ENVIRONMENT_VARIABLES, FunctionSpec
from tooling.emulator.runtime.role_credentials import EMULATOR_CREDENTIALS, Credentials

__all__ = ["worker_environment"]


_SYSTEM_PATH: Final = "/usr/local/bin:/usr/bin:/bin"
#: Configured variables that would move the SDK's endpoints (``AWS_ENDPOINT_URL_<SERVICE>``,
#: ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS``).
_ENDPOINT_VARIABLE_PREFIXES: Final = ("AWS_ENDPOINT_URL_", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


def worker_environment(
    spec: FunctionSpec,
    *,
    task_root: Path,
    runtime_dir: Path,
    interpreter_bin_dir: Path,
    endpoint_url: str,
    log_stream_name: str,
    service_endpoint_urls: Mapping[str, str] | None = None,
    credentials: Credentials = EMULATOR_CREDENTIALS,
) -> dict[str, str]:
    """The complete environment of one worker process of ``spec``.

    ``endpoint_url`` is ``AWS_ENDPOINT_URL``; ``service_endpoint_urls`` the
    ``AWS_ENDPOINT_URL_<SERVICE>`` variables that override it for some services
    (:mod:`tooling.emulator.runtime.service_endpoints`). A configured variable of either kind, or
    one that would make the SDK ignore them, never reaches the worker: its calls stay on the
    endpoints the emulator chose.
    """
    defaults = {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": f"{interpreter_bin_dir}:{_SYSTEM_PATH}",
    }
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mib),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "_HANDLER": spec.handler,
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_SESSION_TOKEN": credentials.session_token,
    }
    loopback = {
        "AWS_ENDPOINT_URL": endpoint_url,
        **(service_endpoint_urls or {}),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }
    configured = _configurable(spec.environment, set(loopback))
    return {**defaults, **configured, **reserved, **loopback}


def _configurable(environment: Mapping[str, str], loopback: set[str]) -> dict[str, str]:
    return {
        name: value
        for name, value in environment.items()
        if name not in RESERVED_ENVIRONMENT_VARIABLES
        and name not in loopback
        and not name.startswith(_ENDPOINT_VARIABLE_PREFIXES)
    }

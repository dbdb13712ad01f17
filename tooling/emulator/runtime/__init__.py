"""A Lambda execution runtime without Docker: runs a deployed function from its exact zip.

The emulator calls :class:`LambdaRuntime` when a function is invoked. Each execution
environment is a process of the runtime's CPython (``python3.12`` → CPython 3.12) with the
runtime's own boto3 (``<runtime>-runtime.txt``), the function's unpacked zip as task root and
only the environment variables Lambda gives; it is kept warm between invocations. Errors,
limits and log records mirror AWS Lambda's. The emulator supplies a :class:`FunctionSpec` and
a :class:`LogSink`; by default the runtime reads two things from moto, as Lambda reads them from
AWS: the network a VPC function can reach and its execution role's credentials.

Modules, one concern each: ``model`` (spec, result, sink, errors, limits), ``interpreters``
(finding CPython), ``environment`` (the runtime's site-packages), ``code_store`` (task roots),
``variables`` (the worker's environment), ``bootstrap`` (the worker process), ``worker`` (its
parent side), ``memory`` (the worker's memory: measured, and limited to the function's memory
size), ``pool`` (warm reuse), ``logs`` (Lambda's log lines), ``runtime`` (invoke), ``answers``
(an invocation's answer and log records), ``reachability`` (the services a VPC function's
subnets and security groups reach), ``vpc_network`` (those network facts and verdicts as plain
data), ``moto_network`` (the facts read from moto's EC2), ``service_endpoints`` (the worker's
per-service endpoints: reachable ones to moto, the rest to a black hole), ``role_credentials``
(the worker's execution-role credentials), ``benchmark`` (cold start and overhead figures),
``debug_sessions`` (a function's next environment started under debugpy) and ``debug_addon``
(debugpy, installed beside a runtime for debug workers only).
"""

from tooling.emulator.runtime.environment import ensure_runtime_environment
from tooling.emulator.runtime.interpreters import InterpreterFinder, find_cpython
from tooling.emulator.runtime.model import (
    REQUEST_PAYLOAD_LIMIT_BYTES,
    RESERVED_ENVIRONMENT_VARIABLES,
    RESPONSE_PAYLOAD_LIMIT_BYTES,
    FunctionSpec,
    InvalidRequestContentError,
    InvocationResult,
    LogSink,
    RequestTooLargeError,
    RuntimeUnavailableError,
)
from tooling.emulator.runtime.runtime import LambdaRuntime

__all__ = [
    "REQUEST_PAYLOAD_LIMIT_BYTES",
    "RESERVED_ENVIRONMENT_VARIABLES",
    "RESPONSE_PAYLOAD_LIMIT_BYTES",
    "FunctionSpec",
    "InterpreterFinder",
    "InvalidRequestContentError",
    "InvocationResult",
    "LambdaRuntime",
    "LogSink",
    "RequestTooLargeError",
    "RuntimeUnavailableError",
    "ensure_runtime_environment",
    "find_cpython",
]

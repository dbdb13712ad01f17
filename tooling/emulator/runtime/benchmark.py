"""Cold start and per-invocation overhead of the runtime, for benchmarks and the docs.

``measure_runtime_overhead`` runs a trivial handler (no imports) through
:class:`LambdaRuntime` and reports medians: the cold start (a new worker spawned and its handler
imported: Init Duration, and the whole first ``invoke``) and the warm round trip of ``invoke``
minus the handler's own Duration (the cost of the runtime: request checks, framing, the
socket, log assembly). ``python -m tooling.emulator.runtime.benchmark`` prints them.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import io
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tooling.emulator.runtime.environment import DEFAULT_ROOT
from tooling.emulator.runtime.model import FunctionSpec
from tooling.emulator.runtime.runtime import LambdaRuntime

__all__ = ["RuntimeFigures", "main", "measure_runtime_overhead"]

_TRIVIAL_HANDLER = "def handler(event, context):\n    return {'ok': True}\n"


@dataclass(frozen=True)
class RuntimeFigures:
    """Medians in milliseconds."""

    cold_init_ms: float
    cold_invoke_ms: float
    warm_invoke_ms: float
    warm_overhead_ms: float


class _DiscardingSink:
    def put(self, *, spec: FunctionSpec, stream_name: str, events: object) -> None:
        del spec, stream_name, events


def _trivial_spec(name: str) -> FunctionSpec:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", _TRIVIAL_HANDLER)
    code = buffer.getvalue()
    return FunctionSpec(
        function_name=name,
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
        version="$LATEST",
        region="us-east-1",
        account_id="123456789012",
        runtime="python3.12",
        handler="app.handler",
        code_sha256=base64.b64encode(hashlib.sha256(code).digest()).decode("ascii"),
        code_zip=lambda: code,
        environment={},
        timeout_seconds=3,
        memory_mib=128,
        log_group=f"/aws/lambda/{name}",
    )


def measure_runtime_overhead(
    runtimes_dir: Path, *, cold_starts: int = 5, warm_invocations: int = 200
) -> RuntimeFigures:
    """Measure ``cold_starts`` cold starts and ``warm_invocations`` warm ones (medians)."""
    with tempfile.TemporaryDirectory(prefix="lambda-runtime-bench-") as work_dir:
        runtime = LambdaRuntime(
            work_dir=Path(work_dir),
            endpoint_url="http://127.0.0.1:9",
            log_sink=_DiscardingSink(),
            runtimes_dir=runtimes_dir,
        )
        try:
            spec = _trivial_spec("bench")
            runtime.invoke(spec, b"{}")  # unpack the code, load the environment
            cold_init, cold_invoke = [], []
            for index in range(cold_starts):
                fresh = dataclasses.replace(spec, environment={"RUN": str(index)})
                started = time.perf_counter()
                result = runtime.invoke(fresh, b"{}")
                cold_invoke.append((time.perf_counter() - started) * 1000)
                cold_init.append(result.init_duration_ms or 0.0)
            warm, overhead = [], []
            for _ in range(warm_invocations):
                started = time.perf_counter()
                result = runtime.invoke(fresh, b"{}")
                elapsed_ms = (time.perf_counter() - started) * 1000
                warm.append(elapsed_ms)
                overhead.append(elapsed_ms - result.duration_ms)
        finally:
            runtime.shutdown()
    return RuntimeFigures(
        cold_init_ms=statistics.median(cold_init),
        cold_invoke_ms=statistics.median(cold_invoke),
        warm_invoke_ms=statistics.median(warm),
        warm_overhead_ms=statistics.median(overhead),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures of this machine."""
    parser = argparse.ArgumentParser(prog="python -m tooling.emulator.runtime.benchmark")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    arguments = parser.parse_args(argv)
    figures = measure_runtime_overhead(arguments.root / DEFAULT_ROOT)
    for name, value in dataclasses.asdict(figures).items():
        print(f"{name}: {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

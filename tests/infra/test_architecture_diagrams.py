"""docs/architecture/<environment>.md are what `./tap diagram` draws from the current stacks.

The stacks are the session's in-process synth (conftest.aws_stacks); the Mermaid syntax is
checked with mermaid's own parser (tooling/diagram/package-lock.json, installed with ``npm ci``
into .build/diagram-node by tests/node_tools.py: without node and npm that test is skipped locally
and fails in CI).
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path
from typing import Any

from trading_infra.config import PlatformConfig, load_config

from tests.infra.conftest import ROOT, Stack
from tests.node_tools import MERMAID, installed
from tooling.diagram.generate import DIAGRAM_DIR, deployment_stack_names, document
from tooling.diagram.model import Graph, extract

PACKAGE = ROOT / "tooling" / "diagram"


def documents(stacks: dict[str, Stack]) -> dict[str, Any]:
    return {name: stack.document for name, stack in stacks.items()}


def test_committed_diagrams_are_current(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    stale = []
    for environment in config.environments:
        path = ROOT / DIAGRAM_DIR / f"{environment.name}.md"
        wanted = document(config, environment.name, documents(aws_stacks))
        if not path.is_file() or path.read_text(encoding="utf-8") != wanted:
            stale.append(str(path.relative_to(ROOT)))
    assert not stale, f"stale architecture diagrams {stale}: run `./tap diagram`"


def dev_graph(aws_stacks: dict[str, Stack], config: PlatformConfig) -> Graph:
    names = deployment_stack_names(config, "dev")
    return extract("dev", ["ap-southeast-1"], {n: aws_stacks[n].document for n in names})


def node(graph: Graph, kind: str, text: str) -> str:
    found = [n.id for n in graph.nodes.values() if n.kind == kind and text in n.label]
    assert len(found) == 1, (kind, text, found)
    return found[0]


def reaches(graph: Graph, *path: str) -> bool:
    edges = {(edge.source, edge.target) for edge in graph.edges}
    return all(step in edges for step in itertools.pairwise(path))


def test_dev_picture_follows_a_file_and_a_request_to_the_trades_table(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    graph = dev_graph(aws_stacks, config)
    bucket = node(graph, "bucket", "tap-data-dev")
    processor = node(graph, "function", "λ processor")
    handler = node(graph, "function", "λ api_handler")
    authorizer = node(graph, "function", "λ api_authorizer")
    trades = node(graph, "table", "tap-trades-dev")
    sessions = node(graph, "table", "tap-sessions-dev")
    api = node(graph, "api", "tap-api-dev")
    iam_routes = node(graph, "routes", "IAM")
    session_routes = node(graph, "routes", "authorizer")
    assert reaches(graph, bucket, processor, trades)
    assert reaches(graph, api, session_routes, handler, trades)
    assert reaches(graph, api, iam_routes, handler, sessions)
    assert reaches(graph, authorizer, session_routes)
    assert reaches(graph, authorizer, sessions)
    labels = {(e.source, e.target): e.label for e in graph.edges}
    assert "s3:ObjectCreated:* incoming/*" in labels[(bucket, processor)]
    assert "IngestTrades" in labels[(processor, trades)]
    assert not reaches(graph, authorizer, trades)  # least privilege shows in the picture
    app, network = (n.replace("-", "_") for n in ("tap-dev-ap-southeast-1-app",
                                                   "tap-dev-ap-southeast-1-network"))  # fmt: skip
    assert reaches(graph, app, network)


def test_global_picture_ties_the_secondaries_to_the_primary(
    aws_stacks: dict[str, Stack], config: PlatformConfig
) -> None:
    names = deployment_stack_names(config, "global")
    regions = [region.name for region in config.environment("global").regions]
    graph = extract("global", regions, {n: aws_stacks[n].document for n in names})
    global_cluster = node(graph, "database", "global database")
    members = {e.source for e in graph.edges if e.target == global_cluster}
    assert len(members) == 3  # the primary's and both secondaries' clusters
    replicas = [n for n in graph.nodes.values() if "replica" in n.label]
    assert sorted(n.group for n in replicas) == [
        "tap_global_us_east_1_app",
        "tap_global_us_east_2_app",
    ]
    assert reaches(graph, "tap_global_us_east_1_app", "tap_global_ap_southeast_1_app")


def _npm_ci() -> Path:
    """mermaid + jsdom installed from the lockfile (tests/node_tools.py), beside the checker."""
    directory = installed(MERMAID)
    shutil.copy(PACKAGE / "check_mermaid.mjs", directory / "check_mermaid.mjs")
    return directory


def test_mermaid_syntax_of_the_committed_diagrams() -> None:
    directory = _npm_ci()
    files = [
        ROOT / DIAGRAM_DIR / f"{e.name}.md"
        for e in load_config(ROOT / "platform.toml").environments
    ]
    result = subprocess.run(
        ["node", "check_mermaid.mjs", *map(str, files)],
        cwd=directory, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(files)} mermaid block(s) parsed, 0 failure(s)" in result.stdout

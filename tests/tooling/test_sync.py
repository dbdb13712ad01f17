"""``./tap sync`` (tooling/sync/): the api_handler zip, built from a temporary copy of
``services/api_handler``, put into two functions of the in-process moto server that the
emulator's local runtime runs, through UpdateFunctionCode; which functions run which zip, checked
against the synthesized stacks; ``--watch`` driven one poll at a time.

The copy's two entry points are replaced by markers (``{"code": "A", "entry": "handler",
"pid": ...}``) so that an invocation says which code answered, and in which worker process.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.tooling.conftest import reset_moto
from tests.tooling.emulator.conftest import client, lambda_service, named, runtimes_dir
from tooling import sync
from tooling.build.lambda_zip import DEPENDENCY_CACHE_DIR, LambdaTarget, build_service
from tooling.emulator.invocations import LambdaService
from tooling.emulator.patches import patched
from tooling.emulator.process import Emulator
from tooling.emulator.runtime.interpreters import find_cpython
from tooling.lifecycle.session import Session
from tooling.lifecycle.workspace import Workspace
from tooling.sync import (
    AWS_WARNING,
    DIRECT_UPLOAD_LIMIT_BYTES,
    LOCAL_NOTE,
    SERVICE_FUNCTIONS,
    DeployedFunction,
    Syncer,
    SyncError,
    Watcher,
    code_sha256,
    deployed_functions,
    output_prefixes,
)

pytestmark = pytest.mark.moto

__all__ = ["lambda_service", "runtimes_dir"]  # the emulator's fixtures, used here too

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-1"
X86_64 = LambdaTarget(python_version="3.12", architecture="x86_64")
HANDLER = "tap-api-handler-dev"
AUTHORIZER = "tap-api-authorizer-dev"
OUTPUTS = {
    "dev_aws_region": REGION,
    "dev_api_handler_function_name": HANDLER,
    "dev_api_authorizer_function_name": AUTHORIZER,
}
ENTRY_MODULES = {"handler": "handler.py", "authorizer": "authorizer.py"}
MARKER = "\n\ndef lambda_handler(event, context):  # the test's marker\n"
SYNCED = re.compile(rf"synced api_handler -> {HANDLER}, {AUTHORIZER} in \d+\.\d s")
Clients = Callable[[str], Any]


@dataclass(frozen=True)
class Tree:
    """A repository root holding a copy of services/api_handler, and its dist dir."""

    root: Path
    dist: Path

    def module(self, entry: str) -> Path:
        return self.root / "services/api_handler/src/api_handler" / ENTRY_MODULES[entry]

    def mark(self, code: str) -> None:
        """Make both entry points answer ``code``."""
        for entry in ENTRY_MODULES:
            path = self.module(entry)
            text = path.read_text(encoding="utf-8")
            text = text[: text.index(MARKER)] if MARKER in text else text
            path.write_text(
                text + MARKER + "    import os\n\n"
                f"    return {{'code': '{code}', 'entry': '{entry}', 'pid': os.getpid()}}\n",
                encoding="utf-8",
            )


def _copy(source: Path, destination: Path) -> None:
    shutil.copy2(source / "constraints.txt", destination / "constraints.txt")
    for service in SERVICE_FUNCTIONS:
        shutil.copytree(
            source / "services" / service,
            destination / "services" / service,
            ignore=shutil.ignore_patterns(
                "__pycache__", "*.pyc", ".*_cache", "*.egg-info", "build"
            ),
        )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    """The copy, api_handler marked ``A``, both services fully built once (pip: ~30 s)."""
    root = tmp_path_factory.mktemp("repo")
    _copy(REPO_ROOT, root)
    tree = Tree(root, root / "dist")
    tree.mark("A")
    for service in SERVICE_FUNCTIONS:
        build_service(
            root,
            service,
            target=X86_64,
            dist_dir=tree.dist,
            cache_dir=REPO_ROOT / DEPENDENCY_CACHE_DIR,
        )
    return tree


@pytest.fixture
def tree(built: Tree, tmp_path: Path) -> Tree:
    """This test's own copy of the built tree (sources and dist)."""
    root = tmp_path / "repo"
    root.mkdir()
    _copy(built.root, root)
    shutil.copytree(built.dist, root / "dist")
    return Tree(root, root / "dist")


@pytest.fixture(scope="session")
def python312() -> Path:
    python = find_cpython("3.12")
    if python is None:
        pytest.fail("CPython 3.12 (the python3.12 runtime) is needed; install it, do not skip")
    return python


@pytest.fixture
def aws(endpoint: str, lambda_service: LambdaService) -> Iterator[Clients]:
    """Clients of a freshly reset moto server whose Lambda runs functions in local workers."""
    reset_moto(endpoint)
    with patched(named("lambda-invoke-local-runtime")):
        yield partial(client, endpoint, region=REGION, reset=False)


def deploy(aws: Clients, tree: Tree, **options: Any) -> None:
    """The two functions of the api_handler zip, as the application stack defines them."""
    role = aws("iam").create_role(RoleName="api", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = (tree.dist / "api_handler.zip").read_bytes()
    for name, handler in (
        (HANDLER, "api_handler.handler.lambda_handler"),
        (AUTHORIZER, "api_handler.authorizer.lambda_handler"),
    ):
        aws("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": code},
            **options,
        )


def answer(aws: Clients, name: str) -> dict[str, Any]:
    response = aws("lambda").invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def syncer(clients: Clients, tree: Tree, python: Path, out: io.StringIO, **options: Any) -> Syncer:
    functions = deployed_functions(
        OUTPUTS, ["dev"], mapping={"api_handler": SERVICE_FUNCTIONS["api_handler"]}
    )
    return Syncer(
        sources=tree.root,
        dist_dir=tree.dist,
        target=X86_64,
        # the repository's dependency layers: a copied tree is built without pip once cached
        cache_dir=REPO_ROOT / DEPENDENCY_CACHE_DIR,
        functions=functions,
        client=lambda region: clients("lambda"),
        python=python,
        out=out,
        **options,
    )


def code_of(aws: Clients, name: str) -> str:
    return str(aws("lambda").get_function_configuration(FunctionName=name)["CodeSha256"])


# --------------------------------------------------------------------------- what runs where


def test_the_api_handler_zip_runs_two_functions_and_the_processor_zip_one() -> None:
    assert SERVICE_FUNCTIONS == {
        "processor": ("processor",),
        "api_handler": ("api_handler", "api_authorizer"),
    }


def test_the_mapping_is_the_synthesized_stacks_one(tmp_path: Path) -> None:
    """Each output ``<key>_function_name`` names an ``aws_lambda_function`` whose ``filename``
    is the ``<service>.zip`` the mapping gives for that key."""
    from trading_infra.app import SynthRequest, synthesize
    from trading_infra.config import load_config
    from trading_infra.target import DeployTarget

    from tests.infra.conftest import fake_artifacts

    config = load_config(REPO_ROOT / "platform.toml", environ={})
    names = synthesize(
        SynthRequest(
            config=config,
            environments=("dev",),
            target=DeployTarget(kind="local", emulator_port=4566),
            artifacts=fake_artifacts(tmp_path / "artifacts"),
            outdir=tmp_path,
        )
    )
    (app,) = [name for name in names if name.endswith("-app")]
    stack = json.loads((tmp_path / "stacks" / app / "cdk.tf.json").read_text(encoding="utf-8"))
    functions = stack["resource"]["aws_lambda_function"]
    found: dict[str, list[str]] = {}
    for output, body in sorted(stack["output"].items()):
        value = str(body["value"])
        match = re.fullmatch(r"\$\{aws_lambda_function\.(\w+)\.function_name\}", value)
        if output.endswith("_function_name") and match:
            service = Path(functions[match.group(1)]["filename"]).stem
            found.setdefault(service, []).append(output.removesuffix("_function_name"))

    assert {service: sorted(keys) for service, keys in found.items()} == {
        service: sorted(keys) for service, keys in SERVICE_FUNCTIONS.items()
    }


def test_the_outputs_give_the_functions_of_each_service() -> None:
    outputs = {**OUTPUTS, "dev_processor_function_name": "tap-processor-dev"}

    assert deployed_functions(outputs, ["dev"]) == {
        "processor": (DeployedFunction("tap-processor-dev", REGION),),
        "api_handler": (
            DeployedFunction(HANDLER, REGION),
            DeployedFunction(AUTHORIZER, REGION),
        ),
    }


def test_missing_outputs_are_named_with_the_deploy_to_run() -> None:
    with pytest.raises(SyncError) as raised:
        deployed_functions(OUTPUTS, ["dev"])

    assert str(raised.value) == (
        "cfn-outputs/flat-outputs.json has no dev_processor_function_name: deploy it first "
        "(`./tap deploy --env dev`)."
    )


def test_a_multi_region_environment_syncs_every_region_or_the_one_named() -> None:
    regions = ["ap-southeast-1", "us-east-1", "us-east-2"]

    assert output_prefixes("dev", ["ap-southeast-1"], None) == ["dev"]
    assert output_prefixes("global", regions, None) == [
        "global_ap_southeast_1",
        "global_us_east_1",
        "global_us_east_2",
    ]
    assert output_prefixes("global", regions, "us-east-1") == ["global_us_east_1"]
    with pytest.raises(SyncError, match=r"^--region eu-west-1: global runs in ap-southeast-1, "):
        output_prefixes("global", regions, "eu-west-1")


# --------------------------------------------------------------------------- a sync


def test_after_a_sync_the_next_invocation_of_both_functions_runs_the_new_code(
    aws: Clients, tree: Tree, python312: Path
) -> None:
    deploy(aws, tree)
    warm = answer(aws, HANDLER)
    assert answer(aws, HANDLER)["pid"] == warm["pid"]  # a warm worker serves the function
    assert warm["code"] == "A" and answer(aws, AUTHORIZER)["code"] == "A"
    out = io.StringIO()

    tree.mark("B")
    saved = time.perf_counter()
    result = syncer(aws, tree, python312, out).sync("api_handler")
    handler = answer(aws, HANDLER)
    serving = time.perf_counter() - saved

    assert {k: handler[k] for k in ("code", "entry")} == {"code": "B", "entry": "handler"}
    assert {k: v for k, v in answer(aws, AUTHORIZER).items() if k != "pid"} == {
        "code": "B",
        "entry": "authorizer",
    }
    assert handler["pid"] != warm["pid"]
    assert not Path(f"/proc/{warm['pid']}").exists()  # the warm worker of code A was stopped
    zip_sha = code_sha256((tree.dist / "api_handler.zip").read_bytes())
    assert code_of(aws, HANDLER) == code_of(aws, AUTHORIZER) == zip_sha
    assert result.updated == (
        DeployedFunction(HANDLER, REGION),
        DeployedFunction(AUTHORIZER, REGION),
    )
    lines = out.getvalue().splitlines()
    assert lines[0] == LOCAL_NOTE
    assert SYNCED.fullmatch(result.line())
    print(
        f"\nsync of one service: {result.seconds:.2f} s; save to new code serving {serving:.2f} s"
    )


def test_a_second_sync_finds_both_functions_up_to_date_and_updates_nothing(
    aws: Clients, tree: Tree, python312: Path
) -> None:
    deploy(aws, tree)
    modified = aws("lambda").get_function_configuration(FunctionName=HANDLER)["LastModified"]
    out = io.StringIO()
    sync = syncer(aws, tree, python312, out)

    result = sync.sync_and_report("api_handler")

    assert result is not None and result.updated == () and not result.build.built
    assert out.getvalue() == (
        f"api_handler: up to date ({HANDLER}, {AUTHORIZER} already run api_handler.zip)\n"
    )
    assert aws("lambda").get_function_configuration(FunctionName=HANDLER)["LastModified"] == (
        modified
    )


def test_the_aws_target_warns_once_that_terraform_does_not_see_the_synced_code(
    aws: Clients, tree: Tree, python312: Path
) -> None:
    deploy(aws, tree)
    out = io.StringIO()
    sync = syncer(aws, tree, python312, out, aws=True)

    tree.mark("B")
    sync.sync_and_report("api_handler")
    tree.mark("C")
    sync.sync_and_report("api_handler")

    lines = out.getvalue().splitlines()
    warning = AWS_WARNING.format(functions=f"{HANDLER}, {AUTHORIZER}").splitlines()
    assert lines[: len(warning)] == warning
    assert warning[0] == (
        f"WARNING (--target aws): {HANDLER}, {AUTHORIZER} now run code that Terraform did not "
        "deploy."
    )
    assert [SYNCED.fullmatch(line) is not None for line in lines[len(warning) :]] == [True, True]
    assert answer(aws, AUTHORIZER)["code"] == "C"


def test_a_function_of_another_architecture_is_refused_before_any_update(
    aws: Clients, tree: Tree, python312: Path
) -> None:
    deploy(aws, tree, Architectures=["arm64"])
    before = code_of(aws, HANDLER)
    tree.mark("B")

    with pytest.raises(SyncError) as raised:
        syncer(aws, tree, python312, io.StringIO()).sync("api_handler")

    assert str(raised.value) == (
        f"{HANDLER} runs on arm64 but the zip is built for x86_64 "
        "(platform.lambda_architecture): deploy the architecture change first."
    )
    assert code_of(aws, HANDLER) == before


def test_a_zip_over_the_direct_upload_limit_is_refused(
    aws: Clients, tree: Tree, python312: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DIRECT_UPLOAD_LIMIT_BYTES == 52_428_800
    deploy(aws, tree)
    before = code_of(aws, HANDLER)
    size = (tree.dist / "api_handler.zip").stat().st_size
    monkeypatch.setattr("tooling.sync.syncer.DIRECT_UPLOAD_LIMIT_BYTES", size)
    tree.mark("B")  # the patched zip is a few bytes larger

    with pytest.raises(SyncError, match=r"^api_handler\.zip is [\d,]+ bytes: UpdateFunctionCode"):
        syncer(aws, tree, python312, io.StringIO()).sync("api_handler")

    assert code_of(aws, HANDLER) == before


# --------------------------------------------------------------------------- --watch


def test_watch_syncs_a_changed_service_and_keeps_watching_after_a_syntax_error(
    aws: Clients, tree: Tree, python312: Path
) -> None:
    deploy(aws, tree)
    out = io.StringIO()
    watcher = Watcher(syncer(aws, tree, python312, out))

    assert watcher.poll() == []  # nothing changed
    tree.mark("B")
    (synced,) = watcher.poll()
    assert synced is not None and answer(aws, HANDLER)["code"] == "B"

    module = tree.module("handler")
    module.write_text(module.read_text(encoding="utf-8") + "def broken(:\n", encoding="utf-8")
    line = module.read_text(encoding="utf-8").count("\n")
    assert watcher.poll() == [None]
    assert answer(aws, HANDLER)["code"] == "B"  # the functions kept their code

    tree.mark("C")
    (fixed,) = watcher.poll()
    assert fixed is not None and answer(aws, HANDLER)["code"] == "C"
    lines = out.getvalue().splitlines()
    assert lines[0] == LOCAL_NOTE
    assert SYNCED.fullmatch(lines[1]) and SYNCED.fullmatch(lines[3])
    assert lines[2] == (
        "sync of api_handler failed: syntax error, not synced (the functions keep their code): "
        f"services/api_handler/src/api_handler/handler.py:{line}: invalid syntax"
    )
    assert len(lines) == 4


# --------------------------------------------------------------------------- the task


def test_the_task_syncs_only_the_changed_service_of_the_environment(
    aws: Clients, tree: Tree, endpoint: str, tmp_path: Path
) -> None:
    """``./tap sync --env dev`` as tasks.py runs it: the functions named by the flat outputs,
    the session's Lambda clients (an emulator record of the in-process server)."""
    deploy(aws, tree)
    role = aws("iam").get_role(RoleName="api")["Role"]["Arn"]
    aws("lambda").create_function(
        FunctionName="tap-processor-dev",
        Runtime="python3.12",
        Role=role,
        Handler="processor.handler.lambda_handler",
        Code={"ZipFile": (tree.dist / "processor.zip").read_bytes()},
    )
    outputs = {**OUTPUTS, "dev_processor_function_name": "tap-processor-dev"}
    port = int(endpoint.rsplit(":", 1)[1])
    emulator = Emulator(endpoint=endpoint, port=port, pid=os.getpid(), state_dir=tmp_path)
    session = Session(root=tmp_path, target="local", emulator=emulator)
    ws = Workspace(
        root=REPO_ROOT, outdir=tmp_path / "out", build_root=tree.root, dist_dir=tree.dist
    )
    out = io.StringIO()

    tree.mark("B")
    sync.run(ws, session, outputs, "dev", out=out)

    lines = out.getvalue().splitlines()
    assert lines[:2] == [
        "processor: up to date (tap-processor-dev already runs processor.zip)",
        LOCAL_NOTE,
    ]
    assert SYNCED.fullmatch(lines[2]) and len(lines) == 3
    assert answer(aws, AUTHORIZER)["code"] == "B"

"""docs/first-deploy.md, done as it is written, against a plain moto server playing a bare account.

The ``./tap`` commands of the page are checked like every other page's (test_docs_commands.py:
real tasks, real options). Here: every ``aws`` command names a real API operation with real
parameters (botocore's service models, which the AWS CLI is generated from), and the page's
steps, taken in order (its TOML added to a copy of platform.toml, its ``aws`` commands made as
the API calls they name, its ``./tap bootstrap-backend`` and ``./tap preflight`` through the
functions those tasks call), take preflight from failing on a bare account to passing, for dev
and for global. The one step no moto server can do is deploying AWS's rotation template (the
page links it): a stand-in function of that name is created in its place, as the emulator's
account fixtures do.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from botocore.model import OperationModel
from trading_infra.app import SynthRequest, synthesize
from trading_infra.config import PlatformConfig, load_config
from trading_infra.target import DeployTarget

from tests.infra.conftest import fake_artifacts
from tooling.lifecycle.backend import backend_spec, bootstrap_backend
from tooling.lifecycle.graph import StackInfo, read_stacks
from tooling.lifecycle.preflight import PreflightError, require_preflight
from tooling.lifecycle.session import Session
from tooling.lifecycle.workspace import Workspace

pytestmark = pytest.mark.moto

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "first-deploy.md"
#: The account id the page writes, and moto's account, which the steps here use instead.
DOC_ACCOUNT = "111122223333"
ACCOUNT = "123456789012"
PRIMARY = "ap-southeast-1"
#: Options of the AWS CLI itself, not parameters of an operation.
CLI_OPTIONS = {"--region", "--query", "--output", "--profile"}
FENCE = re.compile(r"^( *)```(\w+)\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def _blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return [textwrap.dedent(m.group(3)) for m in FENCE.finditer(text) if m.group(2) == language]


#: ``NAME=$(command)``: a command whose output the page keeps in a shell variable.
CAPTURED = re.compile(r"^[A-Z_]+=\$\((?P<command>.*)\)$")


def _commands(program: str) -> list[list[str]]:
    """The page's ``program`` command lines (also those captured into a variable), in order,
    split as the shell splits them."""
    lines = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            captured = CAPTURED.match(line)
            lines.append(captured["command"] if captured else line)
    return [shlex.split(line) for line in lines if line.startswith(program + " ")]


def _operation(argv: list[str]) -> tuple[OperationModel, dict[str, str], str | None]:
    """The API operation an ``aws SERVICE OPERATION --param value ...`` line names, its
    parameters by API member name and its ``--region``; KeyError for what does not exist."""
    service, operation, *rest = argv[1:]
    model = botocore.session.get_session().get_service_model(service)
    operations = {xform_name(name, "-"): name for name in model.operation_names}
    op = model.operation_model(operations[operation])
    assert op.input_shape is not None, f"{service} {operation} takes no parameters"
    members = {xform_name(name, "-"): name for name in op.input_shape.members}
    parameters: dict[str, str] = {}
    region = None
    words = iter(rest)
    for option in words:
        member = members.get(option.removeprefix("--"))
        if member is not None and op.input_shape.members[member].type_name == "boolean":
            parameters[member] = "true"  # a flag: --exclude-punctuation
            continue
        value = next(words)
        if option == "--region":
            region = value
        elif option not in CLI_OPTIONS:
            parameters[members[option.removeprefix("--")]] = value
    return op, parameters, region


def test_the_page_shows_aws_commands() -> None:
    assert [argv[1:3] for argv in _commands("aws")] == [
        ["sts", "get-caller-identity"],
        ["route53", "create-hosted-zone"],
        ["secretsmanager", "get-random-password"],
        ["secretsmanager", "create-secret"],
        ["lambda", "add-permission"],
    ]


@pytest.mark.parametrize("argv", _commands("aws"), ids=lambda argv: " ".join(argv[1:3]))
def test_every_aws_command_is_an_operation_with_its_required_parameters(argv: list[str]) -> None:
    op, parameters, _ = _operation(argv)
    assert op.input_shape is not None
    assert set(op.input_shape.required_members) <= set(parameters)


def _call(session: Session, argv: list[str]) -> Any:
    """Make the API call an ``aws`` line names, with moto's account for the page's."""
    op, parameters, region = _operation([word.replace(DOC_ACCOUNT, ACCOUNT) for word in argv])
    arguments: dict[str, Any] = {}
    assert op.input_shape is not None
    for name, value in parameters.items():
        shape = op.input_shape.members[name]
        if shape.type_name in ("structure", "list", "boolean", "integer", "long"):
            arguments[name] = json.loads(value)
        else:
            arguments[name] = value
    client = session.client(op.service_model.service_name, region or PRIMARY)
    return getattr(client, xform_name(op.name))(**arguments)


def _with_page_settings(tmp_path: Path) -> PlatformConfig:
    """platform.toml with each ``key = value`` of the page's TOML set in its table (moto's
    account for the page's)."""
    lines = (ROOT / "platform.toml").read_text(encoding="utf-8").splitlines()
    for block in _blocks("toml"):
        table = ""
        for line in block.replace(DOC_ACCOUNT, ACCOUNT).splitlines():
            if line.startswith("["):
                table = line.strip()
                continue
            key = line.split("=", 1)[0].strip()
            start = lines.index(table) + 1
            end = next(
                (i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines)
            )
            same = [i for i in range(start, end) if lines[i].split("=", 1)[0].strip() == key]
            if same:
                lines[same[0]] = line
            else:
                lines.insert(start, line)
    (tmp_path / "platform.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(tmp_path / "platform.toml", environ={})


def _stand_in_rotation_function(session: Session) -> None:
    """What deploying AWS's rotation template leaves, as far as preflight looks: the function."""
    iam = session.client("iam", PRIMARY)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="rotation-stand-in", AssumeRolePolicyDocument=json.dumps(trust))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("rotation.py", "def lambda_handler(event, context):\n    pass\n")
    session.client("lambda", PRIMARY).create_function(
        FunctionName="tap-global-aurora-rotation",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCOUNT}:role/rotation-stand-in",
        Handler="rotation.lambda_handler",
        Code={"ZipFile": code.getvalue()},
    )


def _preflight(session: Session, config: PlatformConfig, stacks: list[StackInfo]) -> list[str]:
    """What ``./tap preflight`` fails on (``where: check``); empty when it passes."""
    ws = Workspace(
        root=session.root, outdir=session.root / "cdktf.out", target="aws", out=io.StringIO()
    )
    try:
        require_preflight(ws, stacks, config=config, session=session)
    except PreflightError as error:
        return sorted(f"{check.where}: {check.name}" for check in error.checks if not check.ok)
    return []


def _bootstrap(session: Session, config: PlatformConfig, argv: list[str]) -> None:
    """``./tap bootstrap-backend --target aws --env ENV`` as the task runs it."""
    assert argv[:4] == ["./tap", "bootstrap-backend", "--target", "aws"]
    assert argv[4] == "--env"
    bootstrap_backend(session, backend_spec(config).for_environments({argv[5]}))


def test_the_documented_steps_take_a_bare_account_to_a_passing_preflight(
    bare_account: Session, tmp_path: Path
) -> None:
    account = bare_account
    config = _with_page_settings(tmp_path)
    names = synthesize(
        SynthRequest(
            config=config,
            environments=("dev", "global"),
            target=DeployTarget(kind="aws", emulator_port=4566),
            artifacts=fake_artifacts(tmp_path / "artifacts"),
            outdir=tmp_path / "cdktf.out",
        )
    )
    stacks = read_stacks(tmp_path / "cdktf.out", names)
    dev = [stack for stack in stacks if stack.environment == "dev"]
    global_ = [stack for stack in stacks if stack.environment == "global"]
    bootstraps = [argv for argv in _commands("./tap") if argv[1] == "bootstrap-backend"]
    assert [argv[5] for argv in bootstraps] == ["dev", "global"]
    aws = {" ".join(argv[1:3]): argv for argv in _commands("aws")}

    assert _preflight(account, config, dev) == ["global: key administrator"]
    assert _call(account, aws["sts get-caller-identity"])["Account"] == ACCOUNT  # step 1
    _bootstrap(account, config, bootstraps[0])  # step 2
    assert _preflight(account, config, dev) == []  # step 3

    assert _preflight(account, config, global_) == [
        "ap-southeast-1: master secret",
        "ap-southeast-1: rotation function",
        "ap-southeast-1: rotation permission",
        "global: hosted zone",
    ]
    _call(account, aws["route53 create-hosted-zone"])
    password = _call(account, aws["secretsmanager get-random-password"])["RandomPassword"]
    assert len(password) == 32
    _call(account, aws["secretsmanager create-secret"])
    _stand_in_rotation_function(account)
    _call(account, aws["lambda add-permission"])  # Secrets Manager may invoke it
    _bootstrap(account, config, bootstraps[1])
    assert _preflight(account, config, global_) == []

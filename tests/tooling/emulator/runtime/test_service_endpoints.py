"""tooling.emulator.runtime.service_endpoints and the worker's endpoint variables: what a worker's
SDK is pointed at, from what its function reaches; and tooling.emulator.blackhole, where the
calls it cannot make go."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.configprovider import ConfiguredEndpointProvider

from tests.tooling.emulator.runtime.conftest import make_spec
from tooling.emulator.blackhole import black_hole_url
from tooling.emulator.runtime.reachability import NOT_IN_A_VPC, Reachability, Verdict
from tooling.emulator.runtime.service_endpoints import (
    CLIENTS_OF_ENDPOINT_SERVICE,
    Endpoints,
    clients_of,
    endpoint_variable,
    endpoints_for,
)
from tooling.emulator.runtime.variables import worker_environment

EMULATOR = "http://127.0.0.1:4566"
HOLE = "http://127.0.0.1:9"
REACHABLE = Verdict(True, "through an endpoint")
UNREACHABLE = Verdict(False, "no route")


def _no_hole() -> str:
    raise AssertionError("the black hole was asked for although everything is reachable")


# --------------------------------------------------------------------------- endpoints


def test_a_function_without_a_vpc_has_the_emulator_for_everything() -> None:
    reach = Reachability(in_vpc=False, others=NOT_IN_A_VPC)

    assert endpoints_for(reach, emulator_url=EMULATOR, unreachable_url=_no_hole) == Endpoints(
        EMULATOR
    )


def test_without_a_nat_everything_but_the_reachable_services_goes_to_the_black_hole() -> None:
    reach = Reachability(
        in_vpc=True,
        others=UNREACHABLE,
        services={"dynamodb": REACHABLE, "logs": REACHABLE, "lambda": UNREACHABLE},
    )

    assert endpoints_for(reach, emulator_url=EMULATOR, unreachable_url=lambda: HOLE) == Endpoints(
        HOLE,
        {
            "AWS_ENDPOINT_URL_DYNAMODB": EMULATOR,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": EMULATOR,
        },
    )


def test_with_a_nat_only_the_unreachable_services_go_to_the_black_hole() -> None:
    reach = Reachability(
        in_vpc=True, others=REACHABLE, services={"monitoring": UNREACHABLE, "s3": REACHABLE}
    )

    assert endpoints_for(reach, emulator_url=EMULATOR, unreachable_url=lambda: HOLE) == Endpoints(
        EMULATOR, {"AWS_ENDPOINT_URL_CLOUDWATCH": HOLE}
    )
    everything = Reachability(in_vpc=True, others=REACHABLE, services={"s3": REACHABLE})
    assert endpoints_for(everything, emulator_url=EMULATOR, unreachable_url=_no_hole) == (
        Endpoints(EMULATOR)
    )


@pytest.mark.parametrize(
    ("client", "variable"),
    [
        ("dynamodb", "AWS_ENDPOINT_URL_DYNAMODB"),
        ("lambda", "AWS_ENDPOINT_URL_LAMBDA"),
        ("logs", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"),
        ("cloudwatch", "AWS_ENDPOINT_URL_CLOUDWATCH"),
        ("secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
        ("events", "AWS_ENDPOINT_URL_EVENTBRIDGE"),
        ("stepfunctions", "AWS_ENDPOINT_URL_SFN"),
        ("apigatewayv2", "AWS_ENDPOINT_URL_APIGATEWAYV2"),
        ("sts", "AWS_ENDPOINT_URL_STS"),
    ],
)
def test_the_variable_of_a_client_is_the_one_botocore_reads(client: str, variable: str) -> None:
    found = ConfiguredEndpointProvider(
        full_config={}, scoped_config={}, client_name=client, environ={variable: HOLE}
    ).provide()

    assert endpoint_variable(client) == variable
    assert found == HOLE


PLATFORM_SERVICES = (
    "dynamodb", "ec2", "events", "kms", "lambda", "logs", "s3", "secretsmanager", "sns", "sqs",
    "ssm", "sts", "xray",
)  # fmt: skip


def _endpoint_prefix(client: str) -> str:
    model = botocore.session.get_session().get_service_model(client)
    return str(model.metadata["endpointPrefix"])


@pytest.mark.parametrize("service", PLATFORM_SERVICES)
def test_an_endpoint_service_named_like_a_client_is_that_clients_api(service: str) -> None:
    assert clients_of(service) == (service,)
    assert _endpoint_prefix(service) == service


@pytest.mark.parametrize("service", sorted(CLIENTS_OF_ENDPOINT_SERVICE))
def test_every_listed_client_is_an_api_of_its_endpoint_service(service: str) -> None:
    assert {_endpoint_prefix(client) for client in clients_of(service)} == {service}


def test_an_endpoint_service_without_a_client_has_no_variable() -> None:
    assert clients_of("ecr.dkr") == ()


# --------------------------------------------------------------------------- worker variables


def test_the_worker_gets_the_service_variables_and_no_configured_endpoint(tmp_path: Path) -> None:
    spec = make_spec(
        {"app.py": ""},
        environment={
            "AWS_ENDPOINT_URL_LAMBDA": "https://lambda.eu-west-1.amazonaws.com",
            "AWS_ENDPOINT_URL_SQS": "https://sqs.eu-west-1.amazonaws.com",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
            "TABLE": "trades",
        },
    )

    env = worker_environment(
        spec,
        task_root=tmp_path / "task",
        runtime_dir=tmp_path / "runtime",
        interpreter_bin_dir=tmp_path / "bin",
        endpoint_url=HOLE,
        service_endpoint_urls={"AWS_ENDPOINT_URL_DYNAMODB": EMULATOR},
        log_stream_name="stream",
    )

    endpoint_variables = {name: value for name, value in env.items() if "ENDPOINT_URL" in name}
    assert endpoint_variables == {
        "AWS_ENDPOINT_URL": HOLE,
        "AWS_ENDPOINT_URL_DYNAMODB": EMULATOR,
    }
    assert env["TABLE"] == "trades"


# --------------------------------------------------------------------------- the black hole


def test_a_connection_to_the_black_hole_never_completes() -> None:
    address = urlsplit(black_hole_url())
    assert (address.scheme, address.hostname) == ("http", "127.0.0.1")

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as attempt:
        attempt.settimeout(0.5)
        with pytest.raises(TimeoutError):
            attempt.connect((address.hostname, address.port))


def test_there_is_one_black_hole_per_process() -> None:
    assert black_hole_url() == black_hole_url()

"""The CDKTF app: every stack of the selected environments, synthesized in one process.

Entry points: ``python -m trading_infra`` (what cdktf.json's ``app`` runs) and
:func:`synthesize` (what ``invoke synth`` and the tests call).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from trading_infra import provider_loader

provider_loader.install()  # before anything imports the provider bindings

from cdktf import App  # noqa: E402

from trading_infra.checks.reachability import RegionStacks, require_reachable  # noqa: E402
from trading_infra.checks.synthesized import SynthesizedStack  # noqa: E402
from trading_infra.components.api_routes import API_CONTRACT, load_routes  # noqa: E402
from trading_infra.components.functions import LambdaArtifact  # noqa: E402
from trading_infra.config import PlatformConfig, load_config  # noqa: E402
from trading_infra.regional_stack import StackPlacement  # noqa: E402
from trading_infra.stacks import (  # noqa: E402
    APPLICATION_STACK_SUFFIX,
    NETWORK_STACK_SUFFIX,
    SERVICES,
    ApplicationStack,
    GlobalPeers,
    NetworkStack,
    stack_name,
)
from trading_infra.target import DeployTarget, TargetKind  # noqa: E402

DEFAULT_EMULATOR_PORT = 4566


class ArtifactMissingError(FileNotFoundError):
    """A Lambda zip the stacks reference has not been built."""


@dataclass(frozen=True)
class SynthRequest:
    """What to synthesize, for which target, with which built zips, into which directory.

    ``api_contract`` is the api_handler's OpenAPI document, where the API's routes come from
    (trading_infra.components.api_routes).
    """

    config: PlatformConfig
    environments: tuple[str, ...]
    target: DeployTarget
    artifacts: Mapping[str, LambdaArtifact]
    outdir: Path
    api_contract: Path = API_CONTRACT


def artifacts_from_dist(dist_dir: Path) -> dict[str, LambdaArtifact]:
    """The built zips (``invoke build`` writes them); a missing one is an actionable error."""
    artifacts = {}
    for service in SERVICES:
        path = (dist_dir / f"{service}.zip").resolve()
        if not path.is_file():
            raise ArtifactMissingError(f"{path} does not exist: run `invoke build` first")
        artifacts[service] = LambdaArtifact(path)
    return artifacts


def build_app(request: SynthRequest) -> App:
    """Define every stack of the requested environments (nothing is written yet)."""
    app = App(outdir=str(request.outdir), skip_validation=False)
    api_routes = load_routes(request.api_contract)
    for name in request.environments:
        environment = request.config.environment(name)
        placements = {
            region.name: StackPlacement(
                config=request.config, environment=environment, region=region, target=request.target
            )
            for region in environment.regions
        }
        networks = {
            region.name: NetworkStack(
                app,
                stack_name(request.config, environment, region, NETWORK_STACK_SUFFIX),
                placement=placements[region.name],
            )
            for region in environment.regions
        }
        primary: ApplicationStack | None = None
        for region in environment.regions:  # the primary first: secondaries read its state
            peers = None
            if environment.is_multi_region:
                peers = GlobalPeers(
                    primary_application=primary,
                    secondary_networks=tuple(networks[r.name] for r in environment.regions[1:])
                    if primary is None
                    else (),
                )
            application = ApplicationStack(
                app,
                stack_name(request.config, environment, region, APPLICATION_STACK_SUFFIX),
                placement=placements[region.name],
                network=networks[region.name],
                artifacts=request.artifacts,
                api_routes=api_routes,
                peers=peers,
            )
            primary = primary or application
    return app


def synthesize(request: SynthRequest) -> list[str]:
    """Write ``<outdir>/stacks/<stack>/cdk.tf.json`` for every stack; return the stack names.

    Raises :class:`~trading_infra.checks.reachability.ReachabilityError` when a function's code
    calls an AWS API that its subnets cannot reach (checked over the written JSON).
    """
    app = build_app(request)
    app.synth()
    require_reachable(_synthesized_regions(request))
    return sorted(
        stack.node.id for stack in app.node.children if stack.node.id != "" and _is_stack(stack)
    )


def _synthesized_regions(request: SynthRequest) -> Iterator[RegionStacks]:
    """The written network and application stacks of every environment and region."""
    for name in request.environments:
        environment = request.config.environment(name)
        for region in environment.regions:
            network, application = (
                stack_name(request.config, environment, region, part)
                for part in (NETWORK_STACK_SUFFIX, APPLICATION_STACK_SUFFIX)
            )
            yield RegionStacks(
                environment=environment.name,
                network=SynthesizedStack.read(request.outdir, network),
                application=SynthesizedStack.read(request.outdir, application),
            )


def _is_stack(construct: object) -> bool:
    from cdktf import TerraformStack

    return isinstance(construct, TerraformStack)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Synthesize the trading platform's stacks.")
    parser.add_argument("--config", type=Path, default=Path("platform.toml"))
    parser.add_argument("--env", action="append", help="environment (repeatable; 'all')")
    parser.add_argument("--target", choices=("local", "aws"), default=None)
    parser.add_argument("--dist", type=Path, default=Path("dist"))
    parser.add_argument(
        "--outdir",
        type=Path,
        # The cdktf CLI (`cdktf synth --output DIR`) hands the app its output directory in
        # CDKTF_OUTDIR and then reads DIR/manifest.json: honour it.
        default=Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out"),
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    config = load_config(args.config)
    wanted = args.env or [os.environ.get("TAP_ENV", config.platform.default_environment)]
    environments = tuple(e.name for e in config.environments) if "all" in wanted else tuple(wanted)
    target_kind: TargetKind = args.target or os.environ.get("TAP_TARGET", "local")  # type: ignore[assignment]
    port = int(os.environ.get("TAP_EMULATOR_PORT", DEFAULT_EMULATOR_PORT))
    request = SynthRequest(
        config=config,
        environments=environments,
        target=DeployTarget(kind=target_kind, emulator_port=port),
        artifacts=artifacts_from_dist(args.dist),
        outdir=args.outdir,
    )
    for stack in synthesize(request):
        print(stack)
    return 0

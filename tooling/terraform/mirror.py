"""The local filesystem mirror of ``hashicorp/aws``, and Terraform's name for this platform.

Why a mirror: the Terraform registry may be unreachable where the project runs, while a
machine often already holds the provider (an image's ``/opt/tf-plugins``, a developer's
``~/.terraform.d/plugins``). A directory only counts as a mirror when it holds a hashicorp/aws
package for this platform, so that a mirror chosen here never makes ``terraform init`` fail
where the registry would have worked.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling.terraform.errors import ProviderMirrorError

__all__ = [
    "AWS_PROVIDER_ADDRESS",
    "KNOWN_MIRROR_LOCATIONS",
    "MIRRORED_PROVIDERS",
    "MIRROR_ENV",
    "find_provider_mirror",
    "terraform_platform",
]

#: Environment variable naming a Terraform filesystem mirror to use (validated when set).
MIRROR_ENV = "TAP_TF_PROVIDER_MIRROR"
#: Provider source address whose presence makes a directory a usable mirror.
AWS_PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"
#: The providers installed from a mirror when there is one (and then never from the registry).
MIRRORED_PROVIDERS = "registry.terraform.io/hashicorp/*"
#: Where a filesystem mirror is looked for when MIRROR_ENV is not set, in order.
KNOWN_MIRROR_LOCATIONS: tuple[Path, ...] = (
    Path("/opt/tf-plugins"),
    Path("~/.terraform.d/plugins"),
    Path("/usr/share/terraform/plugins"),
    Path("/usr/local/share/terraform/plugins"),
)


def terraform_platform() -> str:
    """Terraform's name for this platform, e.g. ``linux_amd64`` or ``darwin_arm64``."""
    machine = platform.machine().lower()
    arch = {
        "x86_64": "amd64",
        "amd64": "amd64",
        "aarch64": "arm64",
        "arm64": "arm64",
        "i386": "386",
        "i686": "386",
        "armv7l": "arm",
    }.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def _aws_packages(mirror: Path, os_arch: str) -> list[Path]:
    """The hashicorp/aws packages for ``os_arch`` in a mirror (unpacked or packed layout)."""
    provider_dir = mirror / AWS_PROVIDER_ADDRESS
    unpacked = provider_dir.glob(f"*/{os_arch}/terraform-provider-aws*")
    packed = provider_dir.glob(f"terraform-provider-aws_*_{os_arch}.zip")
    return sorted([*unpacked, *packed])


def _validated_mirror(value: str) -> Path:
    """``value`` as a mirror, or :class:`ProviderMirrorError` saying what is missing: a mirror
    named explicitly is never silently replaced by the registry."""
    mirror = Path(value).expanduser()
    layout = (
        f"<mirror>/{AWS_PROVIDER_ADDRESS}/<version>/{terraform_platform()}/"
        "terraform-provider-aws_v<version>_x5"
    )
    advice = (
        f"Point {MIRROR_ENV} at a Terraform filesystem mirror laid out as {layout} "
        f"(for example {KNOWN_MIRROR_LOCATIONS[0]}), or unset it to search "
        f"{', '.join(str(p) for p in KNOWN_MIRROR_LOCATIONS)} and else use the registry."
    )
    if not mirror.is_dir():
        raise ProviderMirrorError(f"{MIRROR_ENV}={value!r}: no such directory. {advice}")
    if not (mirror / AWS_PROVIDER_ADDRESS).is_dir():
        raise ProviderMirrorError(
            f"{MIRROR_ENV}={value!r}: the directory has no {AWS_PROVIDER_ADDRESS}/ in it. {advice}"
        )
    if not _aws_packages(mirror, terraform_platform()):
        found = sorted(
            str(p.relative_to(mirror)) for p in (mirror / AWS_PROVIDER_ADDRESS).glob("*/*")
        )
        raise ProviderMirrorError(
            f"{MIRROR_ENV}={value!r}: no hashicorp/aws package for {terraform_platform()} "
            f"(found: {', '.join(found) or 'nothing'}). {advice}"
        )
    return mirror.resolve()


def find_provider_mirror(
    *,
    environ: Mapping[str, str] | None = None,
    candidates: Sequence[Path] | None = None,
) -> Path | None:
    """The filesystem mirror holding hashicorp/aws for this platform, or None (use the registry).

    ``TAP_TF_PROVIDER_MIRROR`` (read from ``environ``, default ``os.environ``) wins when set and
    non-empty; it must exist and contain ``registry.terraform.io/hashicorp/aws`` with a package for
    this platform, else :class:`ProviderMirrorError` says what is wrong and how to fix it.
    Otherwise the first of ``candidates`` (default :data:`KNOWN_MIRROR_LOCATIONS`) holding such a
    package is returned.
    """
    env = os.environ if environ is None else environ
    explicit = env.get(MIRROR_ENV, "").strip()
    if explicit:
        return _validated_mirror(explicit)
    os_arch = terraform_platform()
    for candidate in KNOWN_MIRROR_LOCATIONS if candidates is None else candidates:
        location = candidate.expanduser()
        if _aws_packages(location, os_arch):
            return location.resolve()
    return None

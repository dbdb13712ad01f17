"""One region of an environment: the known regions, its network layout and existing resources."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import field_validator, model_validator

from trading_infra.config._base import _ARN, _Frozen

#: Regions the platform may be deployed to (AWS commercial partition).
KNOWN_REGIONS: frozenset[str] = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
        "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "il-central-1", "me-central-1", "me-south-1", "sa-east-1", "us-east-1", "us-east-2",
        "us-west-1", "us-west-2",
    }
)  # fmt: skip

#: Subnets per tier; one per availability zone.
AZ_COUNT = 3
#: Each subnet is the VPC CIDR split this many bits further (8 slots: 3 public, 3 private, 2 spare).
_SUBNET_EXTRA_BITS = 3
_SMALLEST_VPC_PREFIX, _LARGEST_VPC_PREFIX = 16, 25  # AWS allows /16../28 VPCs; /28 subnets minimum


def known_region(value: str) -> str:
    """``value`` if it is one of :data:`KNOWN_REGIONS`; else the error naming them all."""
    if value not in KNOWN_REGIONS:
        raise ValueError(
            f"region {value!r} is not a known AWS region; use one of "
            f"{', '.join(sorted(KNOWN_REGIONS))}"
        )
    return value


def _arn_in_region(value: str, *, service: str, region: str, setting: str) -> str:
    match = _ARN.match(value)
    if match is None or match["service"] != service:
        raise ValueError(
            f"{setting} = {value!r} is not a {service} ARN; "
            f"expected arn:aws:{service}:{region}:<account-id>:..."
        )
    if match["region"] != region:
        raise ValueError(
            f"{setting} = {value!r} belongs to region {match['region']!r}, but it is given for "
            f"{region!r}; use a {service} ARN from {region}"
        )
    return value


class RegionConfig(_Frozen):
    """One region of an environment: where it runs and its region-specific parameters."""

    name: str
    vpc_cidr: ipaddress.IPv4Network
    #: One subnet of each tier per zone; default ``<region>a/b/c``. Pinned by name so that a
    #: zone appearing or disappearing in the region never shifts subnets to other zones.
    availability_zones: tuple[str, ...] = ()
    #: An existing customer-managed key of this region; without it the stack creates one.
    kms_key_arn: str | None = None
    #: An existing ACM certificate of this region for the API's custom domain; without it (and
    #: with ``dns`` set on the environment) the stack requests one, validated through DNS.
    certificate_arn: str | None = None

    @field_validator("name")
    @classmethod
    def _known_region(cls, value: str) -> str:
        return known_region(value)

    @field_validator("vpc_cidr", mode="before")
    @classmethod
    def _parse_cidr(cls, value: object) -> ipaddress.IPv4Network:
        try:
            network = ipaddress.IPv4Network(str(value), strict=True)
        except ValueError as error:
            raise ValueError(
                f"vpc_cidr = {value!r} is not an IPv4 network in CIDR notation ({error}); "
                "write it like '10.0.0.0/16' with the host bits zero"
            ) from None
        if not _SMALLEST_VPC_PREFIX <= network.prefixlen <= _LARGEST_VPC_PREFIX:
            raise ValueError(
                f"vpc_cidr = {value!r} has prefix length /{network.prefixlen}; it must be between "
                f"/{_SMALLEST_VPC_PREFIX} and /{_LARGEST_VPC_PREFIX} to hold {2 * AZ_COUNT} "
                "subnets of at least /28"
            )
        if not network.is_private:
            raise ValueError(
                f"vpc_cidr = {value!r} is not a private (RFC 1918) range; use e.g. 10.0.0.0/16"
            )
        return network

    @model_validator(mode="before")
    @classmethod
    def _default_zones(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not data.get("availability_zones"):
            name = data.get("name", "")
            return {**data, "availability_zones": tuple(f"{name}{c}" for c in "abc"[:AZ_COUNT])}
        return data

    @model_validator(mode="after")
    def _zones_of_the_region(self) -> RegionConfig:
        zones = self.availability_zones
        if len(zones) != AZ_COUNT or len(set(zones)) != AZ_COUNT:
            raise ValueError(
                f"availability_zones = {list(zones)} must name {AZ_COUNT} distinct zones of "
                f"{self.name}, e.g. {[f'{self.name}{c}' for c in 'abc']}"
            )
        foreign = [zone for zone in zones if not re.fullmatch(rf"{self.name}[a-z]", zone)]
        if foreign:
            raise ValueError(
                f"availability_zones {foreign} are not zones of {self.name}; "
                f"use names like '{self.name}a'"
            )
        return self

    @model_validator(mode="after")
    def _arns_in_region(self) -> RegionConfig:
        if self.kms_key_arn is not None:
            _arn_in_region(self.kms_key_arn, service="kms", region=self.name, setting="kms_key_arn")
        if self.certificate_arn is not None:
            _arn_in_region(
                self.certificate_arn, service="acm", region=self.name, setting="certificate_arn"
            )
        return self

    @cached_property
    def _subnet_slots(self) -> list[ipaddress.IPv4Network]:
        return list(self.vpc_cidr.subnets(prefixlen_diff=_SUBNET_EXTRA_BITS))

    @property
    def public_subnet_cidrs(self) -> tuple[str, ...]:
        """The first AZ_COUNT slots of the VPC CIDR (one per AZ)."""
        return tuple(str(s) for s in self._subnet_slots[:AZ_COUNT])

    @property
    def private_subnet_cidrs(self) -> tuple[str, ...]:
        """The upper half's first AZ_COUNT slots (one per AZ), leaving room to grow each tier."""
        half = len(self._subnet_slots) // 2
        return tuple(str(s) for s in self._subnet_slots[half : half + AZ_COUNT])

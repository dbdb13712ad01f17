"""Data residency: the jurisdiction of each region, and where a deployment may hold its data.

A multi-region deployment replicates the sessions table and the whole Aurora database into
every one of its regions (docs/multi-region.md); each of them must lie in a jurisdiction the
environment declares in ``replication_jurisdictions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: The jurisdiction (ISO 3166-1 alpha-2 country) whose law governs data held in each region:
#: the data that residency rules are written against. ``replication_jurisdictions`` of an
#: environment is checked against it (every known region has exactly one entry; a test
#: keeps the two in step).
REGION_JURISDICTIONS: Mapping[str, str] = {
    "af-south-1": "ZA", "ap-east-1": "HK", "ap-northeast-1": "JP", "ap-northeast-2": "KR",
    "ap-northeast-3": "JP", "ap-south-1": "IN", "ap-south-2": "IN", "ap-southeast-1": "SG",
    "ap-southeast-2": "AU", "ap-southeast-3": "ID", "ap-southeast-4": "AU", "ca-central-1": "CA",
    "ca-west-1": "CA", "eu-central-1": "DE", "eu-central-2": "CH", "eu-north-1": "SE",
    "eu-south-1": "IT", "eu-south-2": "ES", "eu-west-1": "IE", "eu-west-2": "GB",
    "eu-west-3": "FR", "il-central-1": "IL", "me-central-1": "AE", "me-south-1": "BH",
    "sa-east-1": "BR", "us-east-1": "US", "us-east-2": "US", "us-west-1": "US", "us-west-2": "US",
}  # fmt: skip
JURISDICTIONS: frozenset[str] = frozenset(REGION_JURISDICTIONS.values())


def known_jurisdictions(value: tuple[str, ...]) -> tuple[str, ...]:
    """``value`` if every code in it is the jurisdiction of a known region."""
    unknown = [code for code in value if code not in JURISDICTIONS]
    if unknown:
        raise ValueError(
            f"replication_jurisdictions {unknown} are not jurisdictions of any known region; "
            f"use ISO country codes among {', '.join(sorted(JURISDICTIONS))}"
        )
    return value


def check_residency(environment: str, regions: Sequence[str], declared: tuple[str, ...]) -> None:
    """Every region of ``environment`` holding a copy of its data (``regions``, the primary
    first) is in one of its ``declared`` replication jurisdictions; a single region with none
    declared replicates nothing and passes."""
    if len(regions) <= 1 and not declared:
        return
    if not declared:
        needed = sorted({REGION_JURISDICTIONS[region] for region in regions})
        raise ValueError(
            f"environment {environment!r} replicates its data into {len(regions)} regions "
            f"({', '.join(regions)}) but declares no "
            f"replication_jurisdictions; declare where its data may be held, e.g. "
            f"replication_jurisdictions = {needed}"
        )
    for region in regions:
        jurisdiction = REGION_JURISDICTIONS[region]
        if jurisdiction not in declared:
            role = "primary" if region == regions[0] else "replica"
            raise ValueError(
                f"{role} region {region!r} of environment {environment!r} is in "
                f"jurisdiction {jurisdiction!r}, outside its replication_jurisdictions "
                f"{list(declared)}; remove the region, or add "
                f"{jurisdiction!r} to replication_jurisdictions if the data may be held there"
            )

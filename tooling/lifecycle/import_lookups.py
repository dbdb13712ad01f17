"""The import IDs only AWS knows: looked up by what the configuration says about a resource.

Why a module of its own: most import IDs are attributes Terraform plans (a bucket's name), but
some are made by AWS when the resource is created (a queue's URL, a topic's or a secret's ARN, a
security group's ``sg-`` and a rule's ``sgr-`` ID). :class:`Resolver` is what the import rules
(:mod:`.import_rules`) ask for those, so that the rules stay pure and testable with a fake;
:class:`Boto3Resolver` asks AWS (for the local target, the emulator).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "PEER_KINDS",
    "Boto3Resolver",
    "Resolver",
    "SecurityGroupRule",
    "rule_matches",
]

#: The peers a ``aws_vpc_security_group_{egress,ingress}_rule`` can have (exactly one of them).
PEER_KINDS = ("cidr_ipv4", "cidr_ipv6", "prefix_list_id", "referenced_security_group_id")


@dataclass(frozen=True)
class SecurityGroupRule:
    """What identifies a rule of a security group: the group, the direction, the protocol, the
    port range (None: not given, as for all protocols) and its one peer, ``peer_kind`` (one of
    :data:`PEER_KINDS`) with the value ``peer``."""

    group_id: str
    egress: bool
    ip_protocol: str
    from_port: int | None
    to_port: int | None
    peer_kind: str
    peer: str

    def __post_init__(self) -> None:
        if self.peer_kind not in PEER_KINDS:
            raise ValueError(f"peer_kind must be one of {PEER_KINDS}, not {self.peer_kind!r}")


#: Protocol numbers AWS answers by name, and the name of "all protocols".
_PROTOCOLS = {"all": "-1", "1": "icmp", "6": "tcp", "17": "udp", "58": "icmpv6"}


def _protocol(value: object) -> str:
    text = str(value).strip().lower()
    return _PROTOCOLS.get(text, text)


def _same_peer(kind: str, wanted: str, found: object) -> bool:
    """Whether ``found`` is the peer ``wanted`` (CIDR ranges compared as networks)."""
    if not isinstance(found, str):
        return False
    if kind.startswith("cidr_"):
        try:
            return ipaddress.ip_network(wanted, strict=False) == ipaddress.ip_network(found, False)
        except ValueError:
            pass
    return wanted == found


def rule_matches(rule: SecurityGroupRule, described: Mapping[str, Any]) -> bool:
    """Whether ``described`` (one ``SecurityGroupRules`` item of EC2's
    DescribeSecurityGroupRules) is ``rule``. AWS answers ports -1 for a rule of all protocols
    (whose ports are not compared) and for a rule without ports."""
    if str(described.get("GroupId", rule.group_id)) != rule.group_id:
        return False
    if bool(described.get("IsEgress")) != rule.egress:
        return False
    protocol = _protocol(rule.ip_protocol)
    if _protocol(described.get("IpProtocol", "")) != protocol:
        return False
    if protocol != "-1":
        for wanted, key in ((rule.from_port, "FromPort"), (rule.to_port, "ToPort")):
            if (-1 if wanted is None else wanted) != described.get(key, -1):
                return False
    peers: dict[str, object] = {
        "cidr_ipv4": described.get("CidrIpv4"),
        "cidr_ipv6": described.get("CidrIpv6"),
        "prefix_list_id": described.get("PrefixListId"),
        "referenced_security_group_id": (described.get("ReferencedGroupInfo") or {}).get("GroupId"),
    }
    present = [kind for kind, value in peers.items() if value]
    return present == [rule.peer_kind] and _same_peer(
        rule.peer_kind, rule.peer, peers[rule.peer_kind]
    )


class Resolver(Protocol):
    """Looks up the IDs terraform imports by that AWS makes (URLs, ARNs, security group and
    rule IDs); None: not found."""

    def queue_url(self, name: str) -> str | None: ...

    def topic_arn(self, name: str) -> str | None: ...

    def secret_arn(self, name: str) -> str | None: ...

    def security_group_id(self, vpc_id: str, name: str) -> str | None: ...

    def subnet_id(self, vpc_id: str, cidr_block: str) -> str | None: ...

    def security_group_rule_id(self, rule: SecurityGroupRule) -> str | None: ...


class Boto3Resolver:
    """:class:`Resolver` through boto3: ``client(service)`` returns a client of the stack's
    region (for the local target, one pointed at the emulator)."""

    def __init__(self, client: Callable[[str], Any]) -> None:
        self._client = client

    @staticmethod
    def _missing(exc: Exception) -> bool:
        code = str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))
        return "NonExistent" in code or "NotFound" in code

    def _unless_missing(self, look_up: Callable[[], Any]) -> str | None:
        """``look_up()`` as a string; None when AWS says there is no such resource."""
        try:
            return str(look_up())
        except Exception as exc:
            if self._missing(exc):
                return None
            raise

    def queue_url(self, name: str) -> str | None:
        sqs = self._client("sqs")
        return self._unless_missing(lambda: sqs.get_queue_url(QueueName=name)["QueueUrl"])

    def topic_arn(self, name: str) -> str | None:
        pages = self._client("sns").get_paginator("list_topics").paginate()
        for page in pages:
            for topic in page.get("Topics", []):
                if str(topic["TopicArn"]).rsplit(":", 1)[-1] == name:
                    return str(topic["TopicArn"])
        return None

    def secret_arn(self, name: str) -> str | None:
        secrets = self._client("secretsmanager")
        return self._unless_missing(lambda: secrets.describe_secret(SecretId=name)["ARN"])

    def _only_ec2(self, call: str, items: str, id_key: str, **filters: str) -> str | None:
        """The ID (``id_key``) of the one EC2 resource ``call`` lists under ``items`` with these
        ``filters`` (filter name with ``_`` for ``-``: value); None when there is none or more."""
        described = getattr(self._client("ec2"), call)(
            Filters=[{"Name": k.replace("_", "-"), "Values": [v]} for k, v in filters.items()]
        )
        found = described.get(items, [])
        return str(found[0][id_key]) if len(found) == 1 else None

    def security_group_id(self, vpc_id: str, name: str) -> str | None:
        """The ``sg-`` ID of the group ``name`` of the VPC ``vpc_id``: no two groups of a VPC
        have the same name
        (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html).
        None: no such group."""
        return self._only_ec2(
            "describe_security_groups", "SecurityGroups", "GroupId", vpc_id=vpc_id, group_name=name
        )

    def subnet_id(self, vpc_id: str, cidr_block: str) -> str | None:
        """The ``subnet-`` ID of the subnet of the VPC ``vpc_id`` with exactly ``cidr_block``:
        the subnets of a VPC cannot overlap
        (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html). None: no such
        subnet (a conflict with another block is no subnet to adopt)."""
        return self._only_ec2(
            "describe_subnets", "Subnets", "SubnetId", vpc_id=vpc_id, cidr_block=cidr_block
        )

    def security_group_rule_id(self, rule: SecurityGroupRule) -> str | None:
        """The ``sgr-`` ID of ``rule`` (None: no such rule or group, or more than one match)."""
        pages = (
            self._client("ec2")
            .get_paginator("describe_security_group_rules")
            .paginate(Filters=[{"Name": "group-id", "Values": [rule.group_id]}])
        )
        try:
            found = [
                str(described["SecurityGroupRuleId"])
                for page in pages
                for described in page.get("SecurityGroupRules", [])
                if rule_matches(rule, described)
            ]
        except Exception as exc:
            if self._missing(exc):
                return None
            raise
        return found[0] if len(found) == 1 else None

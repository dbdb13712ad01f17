"""The ID ``terraform import`` needs to adopt one resource of a synthesized stack.

Why a module of its own: :mod:`.adoption` finds what an interrupted apply left outside the state
and writes the import blocks; what each block's ID is per resource type is a concern of its own,
and the larger one. Most IDs are one attribute of the configuration (a bucket's name), some are
composed of several (``role:policy``, a Route 53 record's ``zone_name_type``), some only AWS knows
(a queue's URL, a topic's or a secret's ARN, a security group rule's ``sgr-`` ID: the
:class:`Resolver`), and some attributes they are made of are known only once the resource they
belong to exists (a security group's ID): those are read from the stack's current state
(:func:`state_attributes`, the output of ``terraform state pull``), as are the attributes of the
data sources names are made of (a bucket named after the account:
``${data.aws_caller_identity.X.account_id}``), which terraform records in the state once it has
read them. Everything here is pure except :class:`Boto3Resolver`: the configuration and the
state come in as data.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "PEER_KINDS",
    "Boto3Resolver",
    "Resolver",
    "SecurityGroupRule",
    "StateAttributes",
    "import_id",
    "rule_matches",
    "state_attributes",
]

#: The attributes of each resource and data source of a stack's state, by address
#: (``aws_s3_bucket.x``, ``data.aws_caller_identity.x``).
StateAttributes = Mapping[str, Mapping[str, Any]]

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
    """Looks up the IDs terraform imports by that are not in the configuration (ARNs, URLs,
    security group rule IDs); None: not found."""

    def queue_url(self, name: str) -> str | None: ...

    def topic_arn(self, name: str) -> str | None: ...

    def secret_arn(self, name: str) -> str | None: ...

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


#: How the address of each mode of resource of the state begins.
_MODE_PREFIX = {"managed": "", "data": "data."}


def state_attributes(state: str) -> dict[str, Mapping[str, Any]]:
    """The attributes of each resource of a state (v4 JSON, as ``terraform state pull`` prints
    it), by address: managed resources (``type.name``) and data sources (``data.type.name``:
    terraform records the values it read, mode ``data``) outside modules with one instance
    without an index key (what :func:`import_id` supports). An empty state (no state yet) has
    none; a data source not read yet is not in it."""
    if not state.strip():
        return {}
    document = json.loads(state)
    found: dict[str, Mapping[str, Any]] = {}
    resources = document.get("resources") if isinstance(document, Mapping) else None
    for resource in resources if isinstance(resources, list) else []:
        if not isinstance(resource, Mapping) or resource.get("mode") not in _MODE_PREFIX:
            continue
        if resource.get("module"):
            continue
        instances = resource.get("instances")
        if not isinstance(instances, list) or len(instances) != 1:
            continue
        instance = instances[0]
        if not isinstance(instance, Mapping) or "index_key" in instance:
            continue
        attributes = instance.get("attributes")
        if isinstance(attributes, Mapping):
            prefix = _MODE_PREFIX[str(resource["mode"])]
            found[f"{prefix}{resource.get('type')}.{resource.get('name')}"] = attributes
    return found


#: Resource types named by one attribute of their configuration, which is also their ``id``.
_NAMED_BY: dict[str, str] = {
    "aws_s3_bucket": "bucket",
    "aws_dynamodb_table": "name",
    "aws_iam_role": "name",
    "aws_cloudwatch_log_group": "name",
    "aws_lambda_function": "function_name",
    "aws_kms_alias": "name",
    "aws_rds_cluster": "cluster_identifier",
    "aws_rds_cluster_instance": "identifier",
    "aws_db_instance": "identifier",
    "aws_db_subnet_group": "name",
    "aws_rds_cluster_parameter_group": "name",
    "aws_db_parameter_group": "name",
    "aws_rds_global_cluster": "global_cluster_identifier",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_apigatewayv2_domain_name": "domain_name",
}
#: Resource types whose import ID is one attribute of their configuration: the named ones and
#: a bucket's sub-resources (imported by the bucket's name).
_BY_ATTRIBUTE: dict[str, str] = {
    **_NAMED_BY,
    **{
        f"aws_s3_bucket_{part}": "bucket"
        for part in (
            "versioning",
            "server_side_encryption_configuration",
            "public_access_block",
            "policy",
            "logging",
            "lifecycle_configuration",
            "notification",
            "ownership_controls",
        )
    },
}
#: The attribute most resources are named by (a constant, so that the secret's entry below is
#: not mistaken for a hard-coded secret by the secrets scan).
_NAME = "name"
#: Attribute-to-attribute aliases of references: ``${aws_s3_bucket.x.id}`` is the bucket name.
_ID_IS: dict[str, str] = {
    **_NAMED_BY,
    "aws_sqs_queue": "name",  # only as the name of a queue (``.name``): its id is the URL
    "aws_sns_topic": "name",
    "aws_secretsmanager_secret": _NAME,
}
#: The security group rule types, and whether each is egress.
_SG_RULES: dict[str, bool] = {
    "aws_vpc_security_group_egress_rule": True,
    "aws_vpc_security_group_ingress_rule": False,
}
_REFERENCE = re.compile(r"\$\{([^{}]*)\}")
_SIMPLE_REFERENCE = re.compile(r"^([a-z0-9_]+)\.([\w-]+)\.([a-z_][a-z0-9_]*)$")
_DATA_REFERENCE = re.compile(r"^data\.([a-z0-9_]+)\.([\w-]+)\.([a-z_][a-z0-9_]*)$")
#: The first words of references that are not ``type.name.attribute`` of a managed resource.
_NOT_RESOURCES = frozenset(
    {"var", "local", "data", "module", "path", "terraform", "self", "each", "count"}
)
_ADDRESS = re.compile(r"^([a-z0-9_]+)\.([\w-]+)$")


@dataclass(frozen=True)
class _Values:
    """Where references find their values: the configuration first, then the state."""

    document: Mapping[str, Any]
    state: StateAttributes


def _config(document: Mapping[str, Any], resource_type: str, name: str) -> Mapping[str, Any]:
    config = ((document.get("resource") or {}).get(resource_type) or {}).get(name)
    return config if isinstance(config, Mapping) else {}


def _configured(
    values: _Values, resource_type: str, name: str, attribute: str, depth: int
) -> str | None:
    """The literal value of ``resource_type.name.attribute`` in the configuration."""
    if attribute in ("id", "name") and resource_type in _ID_IS:
        if attribute == "id" and resource_type in ("aws_sqs_queue", "aws_sns_topic"):
            return None  # their id is a URL / an ARN, not in the configuration
        if attribute == "id" and resource_type == "aws_secretsmanager_secret":
            return None
        attribute = _ID_IS[resource_type]
    config = _config(values.document, resource_type, name)
    if attribute not in config:
        return None
    return _literal(values, config[attribute], depth + 1)


def _stated(values: _Values, address: str, attribute: str) -> str | None:
    """The value of ``attribute`` of ``address`` in the state (None: not there, or not a
    string or a number)."""
    value = (values.state.get(address) or {}).get(attribute)
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    return str(value) or None


def _reference(values: _Values, expression: str, depth: int) -> str | None:
    """The value of ``type.name.attribute``: a literal of the configuration, else the state's;
    of ``data.type.name.attribute``: the state's, what terraform last read (its arguments in
    the configuration are not its attributes). None: not known."""
    expression = expression.strip()
    data = _DATA_REFERENCE.match(expression)
    if data is not None:
        resource_type, name, attribute = data.groups()
        return _stated(values, f"data.{resource_type}.{name}", attribute)
    match = _SIMPLE_REFERENCE.match(expression)
    if match is None or match[1] in _NOT_RESOURCES:
        return None
    resource_type, name, attribute = match.groups()
    configured = _configured(values, resource_type, name, attribute, depth)
    if configured is not None:
        return configured
    return _stated(values, f"{resource_type}.{name}", attribute)


def _literal(values: _Values, value: Any, depth: int = 0) -> str | None:
    """``value`` as a literal string, references to other resources resolved (their literal
    attributes in the configuration, else their attributes in the state); None when it depends
    on anything else (variables, functions, what is in neither) or is not a string."""
    if depth > 8 or not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value)
    if "${" not in text:
        return text if text else None
    unresolved = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal unresolved
        resolved = _reference(values, match[1], depth)
        if resolved is None:
            unresolved = True
            return ""
        return resolved

    result = _REFERENCE.sub(substitute, text)
    return None if unresolved or "${" in result or not result else result


def _special(
    resource_type: str, config: Mapping[str, Any], values: _Values, resolve: Resolver
) -> str | None:
    """Import IDs composed of several attributes or looked up in AWS."""

    def get(attribute: str) -> str | None:
        return _literal(values, config.get(attribute))

    if resource_type == "aws_iam_role_policy":
        role, name = get("role"), get("name")
        return f"{role}:{name}" if role and name else None
    if resource_type == "aws_iam_role_policy_attachment":
        role, arn = get("role"), get("policy_arn")
        return f"{role}/{arn}" if role and arn else None
    if resource_type == "aws_sqs_queue":
        name = get("name")
        if name and config.get("fifo_queue") is True and not name.endswith(".fifo"):
            return None
        return resolve.queue_url(name) if name else None
    if resource_type == "aws_sns_topic":
        name = get("name")
        return resolve.topic_arn(name) if name else None
    if resource_type == "aws_secretsmanager_secret":
        name = get("name")
        return resolve.secret_arn(name) if name else None
    if resource_type == "aws_route53_record":
        return _record_id(config, values)
    if resource_type in _SG_RULES:
        return _security_group_rule_id(_SG_RULES[resource_type], config, values, resolve)
    return None


def _record_id(config: Mapping[str, Any], values: _Values) -> str | None:
    """``<zone id>_<name>_<type>[_<set identifier>]`` of a Route 53 record."""
    zone, name, kind = (_literal(values, config.get(a)) for a in ("zone_id", "name", "type"))
    if not (zone and name and kind):
        return None
    identifier = _literal(values, config["set_identifier"]) if "set_identifier" in config else ""
    if identifier is None:
        return None
    return "_".join(part for part in (zone, name.rstrip("."), kind, identifier) if part)


def _security_group_rule_id(
    egress: bool, config: Mapping[str, Any], values: _Values, resolve: Resolver
) -> str | None:
    """The ``sgr-`` ID of a ``aws_vpc_security_group_{egress,ingress}_rule``, looked up in AWS
    by what identifies it (its group's ID usually comes from the state). None when a part is
    not known, or when the rule found already belongs to another address of the state (the same
    rule configured twice is not an orphan)."""
    kinds = [kind for kind in PEER_KINDS if config.get(kind) is not None]
    if len(kinds) != 1:
        return None
    group, protocol, peer = (
        _literal(values, config.get(a)) for a in ("security_group_id", "ip_protocol", kinds[0])
    )
    if not (group and protocol and peer):
        return None
    ports: list[int | None] = []
    for attribute in ("from_port", "to_port"):
        if config.get(attribute) is None:
            ports.append(None)
            continue
        text = _literal(values, config[attribute])
        if text is None or not re.fullmatch(r"-?\d+", text):
            return None
        ports.append(int(text))
    rule = SecurityGroupRule(group, egress, protocol, ports[0], ports[1], kinds[0], peer)
    found = resolve.security_group_rule_id(rule)
    if found is None:
        return None
    managed = any(
        found in (attributes.get("security_group_rule_id"), attributes.get("id"))
        for address, attributes in values.state.items()
        if not address.startswith("data.")
    )
    return None if managed else found


def import_id(
    address: str,
    document: Mapping[str, Any],
    *,
    resolve: Resolver,
    state: StateAttributes | None = None,
) -> str | None:
    """The ID ``terraform import`` needs for ``address`` of the synthesized ``document``.

    References to other resources resolve to their literal attributes in ``document``, else to
    their attributes in ``state`` (:func:`state_attributes` of the stack's current state);
    references to data sources resolve to their attributes in ``state`` only. None when it is
    not deterministic (a name from a variable, or a computed attribute or a data source not in
    the state, a ``name_prefix``, ``count``/``for_each`` instances, modules), not found in AWS,
    or the type is not supported.
    """
    match = _ADDRESS.match(address)
    if match is None:
        return None
    resource_type, name = match.groups()
    config = _config(document, resource_type, name)
    if not config or "count" in config or "for_each" in config:
        return None
    values = _Values(document, state or {})
    attribute = _BY_ATTRIBUTE.get(resource_type)
    if attribute is not None:
        return _literal(values, config.get(attribute))
    return _special(resource_type, config, values, resolve)

"""A synthesized function as the reachability rule reads it: the statements of its execution
role (Lambda's own ones apart from its code's calls) and the network resources its VPC
configuration names through the network stack's outputs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from trading_infra.checks.lambda_service_calls import LambdaManaged, lambda_use
from trading_infra.checks.network_paths import NetworkPaths
from trading_infra.checks.policies import (
    Statement,
    UnreadablePolicyError,
    service_of,
    statements,
)
from trading_infra.checks.reachability_types import (
    Call,
    RegionStacks,
    UnreadableFunctionError,
    Violation,
)
from trading_infra.checks.synthesized import as_list, reference


@dataclass
class DeployedFunction:
    """A synthesized ``aws_lambda_function``, its role's statements and its network."""

    region: RegionStacks
    network: NetworkPaths
    address: str
    body: Mapping[str, Any]
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = str(self.body.get("function_name", self.address))

    def violation(
        self, service: str | None, calls: tuple[Call, ...], problem: str, fix: str
    ) -> Violation:
        return Violation(
            stack=self.region.application.name,
            function=self.name,
            service=service,
            calls=calls,
            problem=problem,
            fix=fix,
        )

    # --- the role's statements --------------------------------------------------------------

    def lambda_statements(self) -> tuple[tuple[Statement, str], ...]:
        """The role's statements that Lambda uses for the function, each with that use."""
        managed = self._lambda_managed()
        return tuple(
            (statement, use)
            for statement in self._role_statements()
            if (use := lambda_use(statement, managed)) is not None
        )

    def code_calls(self) -> dict[str, tuple[Call, ...]]:
        """The code's calls by service (the IAM prefix); Lambda's own statements left out.

        Raises :class:`UnreadableFunctionError` when the role cannot be read."""
        managed = self._lambda_managed()
        by_service: dict[str, list[Call]] = {}
        for statement in self._role_statements():
            if statement.effect != "Allow" or lambda_use(statement, managed) is not None:
                continue
            for action in statement.actions:
                service = service_of(action)
                if service is None or "NotAction" in statement.negated:
                    raise UnreadableFunctionError(
                        f"its role allows {action!r} (statement {statement.name}), so which "
                        "services its code calls cannot be told",
                        "allow the actions it calls by name",
                    )
                call = Call(action, statement.name, statement.resources)
                by_service.setdefault(service, []).append(call)
        return {service: tuple(calls) for service, calls in by_service.items()}

    def _role_statements(self) -> Iterator[Statement]:
        role = reference(self.body.get("role"))
        application = self.region.application
        if role is None or role.resource_type != "aws_iam_role":
            raise UnreadableFunctionError(
                f"its role {self.body.get('role')!r} is not a role of {application.name}",
                "give it a role of the stack",
            )
        self._refuse_attached_policies(role.address)
        for address, body in application.resources("aws_iam_role_policy").items():
            owner = reference(body.get("role"))
            if owner is not None and owner.address == role.address:
                yield from _read(body.get("policy"), address)
        role_body = application.body(role.address) or {}
        for inline in as_list(role_body.get("inline_policy")):
            yield from _read(inline.get("policy"), role.address)

    def _refuse_attached_policies(self, role: str) -> None:
        application = self.region.application
        attached = [
            address
            for kind in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment")
            for address, body in application.resources(kind).items()
            if role in {getattr(reference(r), "address", None) for r in _roles_of(body)}
        ]
        if attached or as_list((application.body(role) or {}).get("managed_policy_arns")):
            raise UnreadableFunctionError(
                f"its role has attached managed policies ({', '.join(attached) or role}), "
                "whose statements the rule cannot read",
                "grant the role inline statements instead",
            )

    def _lambda_managed(self) -> LambdaManaged:
        application = self.region.application
        logging = self.body.get("logging_config") or {}
        log_group = logging.get("log_group", f"/aws/lambda/{self.name}")
        found = reference(log_group)
        log_group_address = found.address if found is not None else None
        if log_group_address is None:
            log_group_address = next(
                (
                    address
                    for address, group in application.resources("aws_cloudwatch_log_group").items()
                    if group.get("name") == log_group
                ),
                None,
            )
        named = (application.body(log_group_address) or {}) if log_group_address else {}
        targets = {(self.body.get("dead_letter_config") or {}).get("target_arn")}
        for config in application.resources("aws_lambda_function_event_invoke_config").values():
            if self._is_this_function(config.get("function_name")):
                destinations = config.get("destination_config") or {}
                for outcome in ("on_failure", "on_success"):
                    targets.add((destinations.get(outcome) or {}).get("destination"))
        return LambdaManaged(
            in_vpc=bool(as_list((self.body.get("vpc_config") or {}).get("subnet_ids"))),
            log_group_address=log_group_address,
            log_group_name=str(named.get("name", log_group)),
            delivery_targets=frozenset(t for t in targets if isinstance(t, str)),
        )

    def _is_this_function(self, value: object) -> bool:
        found = reference(value)
        return value == self.name or (found is not None and found.address == self.address)

    # --- the network it is in ---------------------------------------------------------------

    def network_addresses(self, value: object, resource_type: str | None) -> list[str]:
        """The network stack's resources that ``value`` (remote-state outputs) names."""
        resolved = self._through_remote_state(value)
        if resolved is None:
            raise UnreadableFunctionError(
                f"its VPC configuration {value!r} does not name outputs of the network stack "
                f"{self.network.stack.name}",
                "pass the network stack's outputs (terraform_remote_state) to it",
            )
        addresses = []
        for item in resolved:
            found = reference(item)
            wanted = (
                (resource_type,)
                if resource_type
                else ("aws_security_group", "aws_default_security_group")
            )
            if found is None or found.attribute != "id" or found.resource_type not in wanted:
                raise UnreadableFunctionError(
                    f"its VPC configuration names {item!r}, not a resource of the network stack "
                    f"{self.network.stack.name}",
                    "output the network's resources themselves",
                )
            addresses.append(found.address)
        return addresses

    def _through_remote_state(self, value: object) -> list[Any] | None:
        if isinstance(value, list):
            values = [self._through_remote_state(item) for item in value]
            if any(v is None or len(v) != 1 for v in values):
                return None
            return [v[0] for v in values if v is not None]
        found = reference(value)
        if found is None or not found.address.startswith("data.terraform_remote_state."):
            return None
        source = self.region.application.body(found.address) or {}
        config = source.get("config") or {}
        backend = self.network.stack.backend
        if (config.get("bucket"), config.get("key")) != (backend.get("bucket"), backend.get("key")):
            return None
        output = found.attribute.removeprefix("outputs.")
        if output == found.attribute:
            return None
        resolved = self.network.stack.output(output)
        return None if resolved is None else as_list(resolved)


def _read(policy: object, owner: str) -> tuple[Statement, ...]:
    try:
        return statements(policy)
    except UnreadablePolicyError as error:
        raise UnreadableFunctionError(
            f"a policy of its role ({owner}) cannot be read: {error}",
            "write the policy as a literal JSON document",
        ) from error


def _roles_of(attachment: Mapping[str, Any]) -> list[Any]:
    return [attachment.get("role"), *as_list(attachment.get("roles"))]

"""The region's network: VPC, subnets, routing, endpoints, security groups and flow logs.

No NAT gateway: the Lambdas reach S3 and DynamoDB through gateway endpoints and the other AWS
APIs they need through interface endpoints, so nothing in the private subnets has a route to
the internet.

Every endpoint has a policy that lets only this account's principals reach this account's
resources through it (``aws:PrincipalAccount``, ``aws:ResourceAccount``): stolen credentials
of another account, or a copy of data into another account's bucket, cannot use the path. The
Lambda API endpoint is narrower still: only the processor's invocations of itself pass.

Which endpoints a region needs follows from what its functions' code calls: synth refuses
stacks where a call has no path (trading_infra.checks.reachability).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from trading_infra.config import AZ_COUNT
from trading_infra.context import RegionContext, policy_document

HTTPS_PORT = 443
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")
#: Interface endpoint services whose actions have no resource (X-Ray trace uploads): there is
#: no resource account to check, so their endpoint policy checks the principal's account only.
RESOURCELESS_SERVICES = frozenset({"xray"})
#: The function whose code calls the Lambda API: the processor continues a trade file too large
#: for one invocation by invoking itself asynchronously (``ContinueOwnFiles``, stacks.py).
SELF_INVOKING_FUNCTION = "processor"


def endpoint_policy(context: RegionContext, service: str) -> str:
    """The policy of the ``service`` endpoint: that service's actions, by principals of this
    account, on resources of this account. Nothing AWS-owned is needed through the S3 gateway
    endpoint: the functions read and write only the platform's buckets, and no instance in the
    private subnets installs packages from AWS-owned repository buckets."""
    condition: dict[str, Any] = {"aws:PrincipalAccount": context.account_id}
    if service not in RESOURCELESS_SERVICES:
        condition["aws:ResourceAccount"] = context.account_id
    return policy_document(
        {
            "Sid": "OnlyThisAccountsPrincipalsAndResources",
            "Effect": "Allow",
            "Principal": "*",
            "Action": f"{service}:*",
            "Resource": "*",
            "Condition": {"StringEquals": condition},
        }
    )


def lambda_endpoint_policy(context: RegionContext) -> str:
    """The policy of the Lambda API endpoint: ``lambda:InvokeFunction`` of this platform's
    processor only, by principals of this account. Lambda's endpoint policies name a function by
    its unqualified and its qualified ARN (``:*``), both needed: "You need to include both the
    qualified and the unqualified function ARN in the resource"
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-endpoints.html#vpc-endpoint-policy).
    The ARN is built from the function's name like the processor's own statement: the network
    stack is deployed before the function exists."""
    name = context.namer.name(SELF_INVOKING_FUNCTION, kind="lambda_function")
    function_arn = context.arn("lambda", f"function:{name}")
    return policy_document(
        {
            "Sid": "OnlyTheProcessorInvokingItself",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunction",
            "Resource": [function_arn, f"{function_arn}:*"],
            "Condition": {"StringEquals": {"aws:PrincipalAccount": context.account_id}},
        }
    )


#: Interface endpoints of every region, whatever its profile lists, each with its own policy:
#: the platform's own code calls these services in every environment. A function in a VPC
#: without NAT reaches the Lambda API only through a ``lambda`` interface endpoint
#: (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html,
#: https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-endpoints.html).
PLATFORM_INTERFACE_ENDPOINTS: dict[str, Callable[[RegionContext], str]] = {
    "lambda": lambda_endpoint_policy,
}


@dataclass(frozen=True)
class NetworkProps:
    """The network of one region: ``logs_key_arn`` encrypts the flow logs; ``database_port`` is
    what the secret rotation function may reach."""

    context: RegionContext
    logs_key_arn: str
    database_port: int


class Network(Construct):
    """VPC with 3 public + 3 private subnets (one per AZ) and least-privilege security groups.

    Attributes:
        vpc, public_subnets, private_subnets, lambda_security_group, database_security_group,
        rotation_security_group (None unless a rotation function is configured),
        gateway_endpoints.
    """

    def __init__(self, scope: Construct, id_: str, *, props: NetworkProps) -> None:
        super().__init__(scope, id_)
        context = props.context
        self._namer = context.namer
        self.vpc = Vpc(
            self,
            "Vpc",
            cidr_block=str(context.region.vpc_cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": self._namer.name("vpc")},
        )
        # Every read of a resource attribute is a round trip to the jsii runtime: read once.
        self.vpc_id: str = self.vpc.id
        # The default security group of a VPC allows all traffic between its members: take
        # every rule away so that nothing can use it by accident.
        DefaultSecurityGroup(
            self, "DefaultSecurityGroup", vpc_id=self.vpc_id, ingress=[], egress=[]
        )
        public_routes_id, private_routes_id = self._declare_route_tables()
        self._declare_subnets(context, public_routes_id, private_routes_id)
        self._declare_security_groups(context, props.database_port)
        self._declare_gateway_endpoints(context, private_routes_id)
        self._interface_endpoints(context)
        self._flow_logs(context, props.logs_key_arn)

    def _declare_route_tables(self) -> tuple[str, str]:
        """The public route table (default route to the internet gateway) and the private one
        (no route out: the gateway endpoints are added to it); their ids."""
        gateway = InternetGateway(
            self, "InternetGateway", vpc_id=self.vpc_id, tags={"Name": self._namer.name("igw")}
        )
        public_routes_id = RouteTable(
            self,
            "PublicRouteTable",
            vpc_id=self.vpc_id,
            tags={"Name": self._namer.name("public-rt")},
        ).id
        Route(
            self,
            "PublicDefaultRoute",
            route_table_id=public_routes_id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
        )
        private_routes_id = RouteTable(
            self,
            "PrivateRouteTable",
            vpc_id=self.vpc_id,
            tags={"Name": self._namer.name("private-rt")},
        ).id
        return public_routes_id, private_routes_id

    def _declare_subnets(
        self, context: RegionContext, public_routes_id: str, private_routes_id: str
    ) -> None:
        """A public and a private subnet per AZ, each on its tier's route table."""
        region = context.region
        self.public_subnets: list[Subnet] = []
        self.private_subnets: list[Subnet] = []
        for index in range(AZ_COUNT):
            zone = region.availability_zones[index]
            public = Subnet(
                self,
                f"PublicSubnet{index + 1}",
                vpc_id=self.vpc_id,
                cidr_block=region.public_subnet_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": self._namer.name(f"public-{index + 1}"), "Tier": "public"},
            )
            private = Subnet(
                self,
                f"PrivateSubnet{index + 1}",
                vpc_id=self.vpc_id,
                cidr_block=region.private_subnet_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": self._namer.name(f"private-{index + 1}"), "Tier": "private"},
            )
            RouteTableAssociation(
                self, f"PublicSubnet{index + 1}Routes", subnet_id=public.id,
                route_table_id=public_routes_id,
            )  # fmt: skip
            RouteTableAssociation(
                self, f"PrivateSubnet{index + 1}Routes", subnet_id=private.id,
                route_table_id=private_routes_id,
            )  # fmt: skip
            self.public_subnets.append(public)
            self.private_subnets.append(private)

    def _declare_security_groups(self, context: RegionContext, database_port: int) -> None:
        """The Lambda and database groups, and the rotation function's where it is configured.

        Security group descriptions cannot change without replacing the group, and both groups
        are attached to interfaces in the application stack: the descriptions are kept as they
        are. No platform function uses the database (see below), whatever they say.
        """
        namer = self._namer
        self.lambda_security_group = SecurityGroup(
            self,
            "LambdaSecurityGroup",
            name=namer.name("lambda-sg", kind="security_group"),
            description="Platform Lambda functions: egress to AWS endpoints and the database only",
            vpc_id=self.vpc_id,
            tags={"Name": namer.name("lambda-sg")},
        )
        self.database_security_group = SecurityGroup(
            self,
            "DatabaseSecurityGroup",
            name=namer.name("db-sg", kind="security_group"),
            description="Platform database: its port from the Lambda security group only",
            vpc_id=self.vpc_id,
            tags={"Name": namer.name("db-sg")},
        )
        # Neither the processor nor the API functions use the database, so the Lambda group has
        # no path to it. The only client is the rotation of an existing master secret (named in
        # the configuration, run by the account's own function): it gets a group of its own to
        # attach, with the database port and HTTPS to the interface endpoints. RDS-managed
        # passwords are rotated by RDS itself and need no network path.
        self.rotation_security_group: SecurityGroup | None = None
        if context.environment.profile.database.rotation_function_name is not None:
            self.rotation_security_group = SecurityGroup(
                self,
                "RotationSecurityGroup",
                name=namer.name("rotation-sg", kind="security_group"),
                description="Database secret rotation: the database port and AWS endpoints only",
                vpc_id=self.vpc_id,
                tags={"Name": namer.name("rotation-sg")},
            )
            self._allow(
                self.rotation_security_group,
                self.database_security_group,
                port=database_port,
                ingress_id="DatabaseFromRotation",
                egress_id="RotationToDatabase",
                what="the database port",
            )

    def _declare_gateway_endpoints(self, context: RegionContext, private_routes_id: str) -> None:
        """S3 and DynamoDB gateway endpoints on the private route table, and the Lambda
        group's HTTPS egress to each one's prefix list."""
        self.gateway_endpoints: dict[str, VpcEndpoint] = {}
        for service in GATEWAY_ENDPOINT_SERVICES:
            endpoint = VpcEndpoint(
                self,
                f"{service.capitalize()}GatewayEndpoint",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{context.region.name}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[private_routes_id],
                policy=endpoint_policy(context, service),
                tags={"Name": self._namer.name(f"{service}-endpoint")},
            )
            VpcSecurityGroupEgressRule(
                self,
                f"LambdaTo{service.capitalize()}",
                security_group_id=self.lambda_security_group.id,
                prefix_list_id=endpoint.prefix_list_id,
                ip_protocol="tcp",
                from_port=HTTPS_PORT,
                to_port=HTTPS_PORT,
                description=f"HTTPS to {service} through its gateway endpoint",
            )
            self.gateway_endpoints[service] = endpoint

    def _allow(
        self,
        source: SecurityGroup,
        target: SecurityGroup,
        *,
        port: int,
        ingress_id: str,
        egress_id: str,
        what: str,
    ) -> None:
        """One TCP port from ``source`` to ``target``: the ingress and the egress rule."""
        lambdas = source is self.lambda_security_group
        who = "the platform's Lambda functions" if lambdas else "the secret rotation function"
        egress_who = "Lambda functions" if lambdas else "Secret rotation function"
        VpcSecurityGroupIngressRule(
            self,
            ingress_id,
            security_group_id=target.id,
            referenced_security_group_id=source.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{what} from {who}",
        )
        VpcSecurityGroupEgressRule(
            self,
            egress_id,
            security_group_id=source.id,
            referenced_security_group_id=target.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{egress_who} to {what}",
        )

    def _interface_endpoints(self, context: RegionContext) -> None:
        policies: dict[str, str] = {
            service: endpoint_policy(context, service)
            for service in context.environment.profile.interface_endpoints
        }
        policies.update(
            (service, policy(context)) for service, policy in PLATFORM_INTERFACE_ENDPOINTS.items()
        )
        namer = context.namer
        endpoint_group = SecurityGroup(
            self,
            "EndpointSecurityGroup",
            name=namer.name("endpoints-sg", kind="security_group"),
            description="Interface endpoints: HTTPS from the platform's Lambda functions only",
            vpc_id=self.vpc_id,
            tags={"Name": namer.name("endpoints-sg")},
        )
        self._allow(
            self.lambda_security_group,
            endpoint_group,
            port=HTTPS_PORT,
            ingress_id="EndpointsFromLambda",
            egress_id="LambdaToEndpoints",
            what="HTTPS to the interface endpoints",
        )
        if self.rotation_security_group is not None:
            self._allow(
                self.rotation_security_group,
                endpoint_group,
                port=HTTPS_PORT,
                ingress_id="EndpointsFromRotation",
                egress_id="RotationToEndpoints",
                what="HTTPS to the interface endpoints",
            )
        for service, policy in policies.items():
            VpcEndpoint(
                self,
                f"{service.capitalize()}InterfaceEndpoint",
                vpc_id=self.vpc_id,
                service_name=f"com.amazonaws.{context.region.name}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=[subnet.id for subnet in self.private_subnets],
                security_group_ids=[endpoint_group.id],
                policy=policy,
                tags={"Name": namer.name(f"{service}-endpoint")},
            )

    def _flow_logs(self, context: RegionContext, logs_key_arn: str) -> None:
        namer = context.namer
        log_group = CloudwatchLogGroup(
            self,
            "FlowLogGroup",
            name=namer.log_group("vpc-flow-logs"),
            retention_in_days=context.environment.profile.log_retention_days,
            kms_key_id=logs_key_arn,
        )
        role = IamRole(
            self,
            "FlowLogRole",
            name=namer.name("flow-logs", kind="iam_role", regional=True),
            # VPC Flow Logs sets the flow log's ARN as aws:SourceArn when it assumes the role.
            assume_role_policy=context.service_trust_policy(
                "vpc-flow-logs.amazonaws.com",
                source_arn=context.arn("ec2", "vpc-flow-log/*"),
            ),
        )
        IamRolePolicy(
            self,
            "FlowLogPolicy",
            role=role.id,
            name=namer.name("flow-logs-policy", kind="iam_role"),
            policy=policy_document(
                {
                    "Sid": "WriteFlowLogs",
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    "Resource": [log_group.arn, f"{log_group.arn}:*"],
                }
            ),
        )
        FlowLog(
            self,
            "FlowLog",
            vpc_id=self.vpc_id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": namer.name("flow-log")},
        )

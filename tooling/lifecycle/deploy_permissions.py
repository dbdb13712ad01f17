"""What the synthesized stacks need from AWS, as IAM actions: one entry per Terraform block type.

:data:`PERMISSIONS` maps each block type the stacks declare (``resource``: ``aws_vpc``;
``data``: ``data.aws_vpc``; ``ephemeral``: ``ephemeral.aws_...``) to what the AWS provider calls
for it. ``plan`` is what a refresh reads: configuration metadata only (Describe/Get/List of the
resource itself), never data (no ``s3:GetObject``, ``dynamodb:GetItem``, ``logs:GetLogEvents``,
``secretsmanager:GetSecretValue``), so that the pull-request plan role holds nothing a PR author
should not see. ``apply`` adds what creating, updating, tagging and deleting it calls, including
the cross-service actions AWS checks on the caller (``iam:PassRole`` of an execution role, KMS
grants for an encrypted table or database) and the one secret value Terraform opens to write it
into a resource (the master password of the global database). A type without an entry is an
error (:func:`missing_types`): a new resource type is added here, and the pipeline's roles
bootstrapped again, before the pipeline can deploy it. How the entries become scoped policy
statements: :mod:`.permission_scopes`.

Each entry is written as space-separated actions (:func:`_entry`) to keep the table one screen
per service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PERMISSIONS", "Permissions", "declared_types", "missing_types"]


@dataclass(frozen=True)
class Permissions:
    """What one block type needs: ``plan`` (refresh reads), ``apply`` (create, update, delete),
    and the AWS services whose service-linked role its first creation makes
    (``iam:CreateServiceLinkedRole``, conditioned on ``iam:AWSServiceName``)."""

    plan: tuple[str, ...] = ()
    apply: tuple[str, ...] = ()
    service_linked_roles: tuple[str, ...] = ()


def _entry(plan: str = "", apply: str = "", linked: str = "") -> Permissions:
    """A :class:`Permissions` from space-separated actions (and service names)."""
    return Permissions(tuple(plan.split()), tuple(apply.split()), tuple(linked.split()))


_EC2_READ = "ec2:Describe*"
_EC2_TAGS = "ec2:CreateTags ec2:DeleteTags"
_SG_RULES = (
    "ec2:AuthorizeSecurityGroupEgress ec2:AuthorizeSecurityGroupIngress "
    "ec2:RevokeSecurityGroupEgress ec2:RevokeSecurityGroupIngress "
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress ec2:UpdateSecurityGroupRuleDescriptionsIngress"
)
#: Deleting a subnet or a security group first removes the network interfaces Lambda leaves in
#: it for up to ~35 minutes after the function is gone (the provider's deleteLingeringENIs, called
#: by resourceSubnetDelete and resourceSecurityGroupDelete:
#: https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/ec2/vpc_security_group.go).
_LINGERING_ENIS = "ec2:DeleteNetworkInterface ec2:DetachNetworkInterface"
_KMS_READ = "kms:Describe* kms:Get* kms:List*"
#: What a service does with a customer-managed key on the caller's behalf when it creates an
#: encrypted table, function or database (the key policies allow it only through these
#: services: trading_infra.components.keys).
_KMS_USE = (
    "kms:CreateGrant kms:Decrypt kms:DescribeKey kms:Encrypt kms:GenerateDataKey* kms:ReEncrypt*"
)
_LAMBDA_READ = "lambda:Get* lambda:List*"
_LOGS_READ = "logs:Describe* logs:ListTagsForResource logs:ListTagsLogGroup"
_DYNAMODB_READ = "dynamodb:Describe* dynamodb:List*"
_S3_READ = (
    "s3:GetAccelerateConfiguration s3:GetBucket* s3:GetEncryptionConfiguration "
    "s3:GetLifecycleConfiguration s3:GetReplicationConfiguration s3:ListBucket"
)
_IAM_READ = (
    "iam:GetRole iam:GetRolePolicy iam:ListAttachedRolePolicies iam:ListInstanceProfilesForRole "
    "iam:ListRolePolicies iam:ListRoleTags"
)
_APIGATEWAY_READ = "apigateway:GET"
_APIGATEWAY_WRITE = "apigateway:DELETE apigateway:PATCH apigateway:POST apigateway:PUT"
_ACM_READ = "acm:DescribeCertificate acm:GetCertificate acm:ListTagsForCertificate"
_ROUTE53_READ = "route53:Get* route53:List*"
_RDS_READ = "rds:Describe* rds:ListTagsForResource"
_RDS_TAGS = "rds:AddTagsToResource rds:RemoveTagsFromResource"
_AUTOSCALING_READ = "application-autoscaling:Describe* application-autoscaling:ListTagsForResource"
_ALARM_READ = "cloudwatch:DescribeAlarms cloudwatch:ListTagsForResource"
#: Scalable targets and target tracking policies create and remove their alarms with the
#: caller's permissions (Application Auto Scaling User Guide, identity and access management).
_ALARM_WRITE = "cloudwatch:DeleteAlarms cloudwatch:DescribeAlarms cloudwatch:PutMetricAlarm"
_SECRETS_READ = "secretsmanager:DescribeSecret secretsmanager:GetResourcePolicy"
#: Turning on an HTTP API stage's access logs (API Gateway Developer Guide, "Configure logging
#: for HTTP APIs": https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html).
_HTTP_API_LOGGING = (
    "logs:CreateLogDelivery logs:CreateLogGroup logs:DeleteLogDelivery logs:DescribeLogGroups "
    "logs:DescribeLogStreams logs:DescribeResourcePolicies logs:FilterLogEvents "
    "logs:GetLogDelivery logs:GetLogEvents logs:ListLogDeliveries logs:PutResourcePolicy "
    "logs:UpdateLogDelivery"
)


def _ec2(apply: str) -> Permissions:
    return _entry(_EC2_READ, f"{apply} {_EC2_TAGS}")


def _s3(apply: str) -> Permissions:
    return _entry(_S3_READ, apply)


def _apigateway(extra: str = "") -> Permissions:
    return _entry(_APIGATEWAY_READ, f"{_APIGATEWAY_WRITE} {extra}")


def _rds(apply: str) -> Permissions:
    return _entry(_RDS_READ, f"{apply} {_RDS_TAGS}")


#: Every block type the stacks may declare -> what the AWS provider calls for it.
PERMISSIONS: Mapping[str, Permissions] = {
    # Network stack.
    "aws_vpc": _ec2("ec2:CreateVpc ec2:DeleteVpc ec2:ModifyVpcAttribute"),
    "aws_subnet": _ec2(
        f"ec2:CreateSubnet ec2:DeleteSubnet ec2:ModifySubnetAttribute {_LINGERING_ENIS}"
    ),
    "aws_internet_gateway": _ec2(
        "ec2:AttachInternetGateway ec2:CreateInternetGateway ec2:DeleteInternetGateway "
        "ec2:DetachInternetGateway"
    ),
    "aws_route_table": _ec2("ec2:CreateRouteTable ec2:DeleteRouteTable"),
    "aws_route": _ec2("ec2:CreateRoute ec2:DeleteRoute ec2:ReplaceRoute"),
    "aws_route_table_association": _ec2(
        "ec2:AssociateRouteTable ec2:DisassociateRouteTable ec2:ReplaceRouteTableAssociation"
    ),
    "aws_security_group": _ec2(
        f"ec2:CreateSecurityGroup ec2:DeleteSecurityGroup {_SG_RULES} {_LINGERING_ENIS}"
    ),
    "aws_default_security_group": _ec2(_SG_RULES),
    "aws_vpc_security_group_ingress_rule": _ec2(f"{_SG_RULES} ec2:ModifySecurityGroupRules"),
    "aws_vpc_security_group_egress_rule": _ec2(f"{_SG_RULES} ec2:ModifySecurityGroupRules"),
    # An interface endpoint with private DNS associates its private hosted zone with the VPC.
    "aws_vpc_endpoint": _ec2(
        "ec2:CreateVpcEndpoint ec2:DeleteVpcEndpoints ec2:ModifyVpcEndpoint "
        "route53:AssociateVPCWithHostedZone"
    ),
    "aws_flow_log": _ec2("ec2:CreateFlowLogs ec2:DeleteFlowLogs iam:PassRole"),
    "aws_kms_key": _entry(
        _KMS_READ,
        "kms:CreateKey kms:DisableKey kms:DisableKeyRotation kms:EnableKey kms:EnableKeyRotation "
        "kms:PutKeyPolicy kms:ScheduleKeyDeletion kms:TagResource kms:UntagResource "
        "kms:UpdateKeyDescription",
    ),
    "aws_kms_alias": _entry(_KMS_READ, "kms:CreateAlias kms:DeleteAlias kms:UpdateAlias"),
    "aws_iam_role": _entry(
        _IAM_READ,
        "iam:CreateRole iam:DeleteRole iam:DeleteRolePolicy iam:DetachRolePolicy iam:TagRole "
        "iam:UntagRole iam:UpdateAssumeRolePolicy iam:UpdateRole iam:UpdateRoleDescription",
    ),
    "aws_iam_role_policy": _entry(_IAM_READ, "iam:DeleteRolePolicy iam:PutRolePolicy"),
    "aws_iam_role_policy_attachment": _entry(
        _IAM_READ, "iam:AttachRolePolicy iam:DetachRolePolicy"
    ),
    "aws_cloudwatch_log_group": _entry(
        _LOGS_READ,
        "logs:AssociateKmsKey logs:CreateLogGroup logs:DeleteLogGroup logs:DeleteRetentionPolicy "
        "logs:DisassociateKmsKey logs:PutRetentionPolicy logs:TagLogGroup logs:TagResource "
        "logs:UntagLogGroup logs:UntagResource",
    ),
    # Application stack.
    # A function in a VPC: Lambda checks its subnets and security groups with the caller's
    # permissions (Lambda Developer Guide, "Giving Lambda functions access to resources in an
    # Amazon VPC", user permissions: https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
    "aws_lambda_function": _entry(
        _LAMBDA_READ,
        "lambda:CreateFunction lambda:DeleteFunction lambda:DeleteFunctionConcurrency "
        "lambda:PublishVersion lambda:PutFunctionConcurrency lambda:TagResource "
        "lambda:UntagResource lambda:UpdateFunctionCode lambda:UpdateFunctionConfiguration "
        "ec2:DescribeSecurityGroups ec2:DescribeSubnets ec2:DescribeVpcs "
        f"iam:PassRole {_KMS_USE}",
    ),
    "aws_lambda_permission": _entry(_LAMBDA_READ, "lambda:AddPermission lambda:RemovePermission"),
    "aws_lambda_function_event_invoke_config": _entry(
        _LAMBDA_READ,
        "lambda:DeleteFunctionEventInvokeConfig lambda:PutFunctionEventInvokeConfig "
        "lambda:UpdateFunctionEventInvokeConfig",
    ),
    "aws_dynamodb_table": _entry(
        _DYNAMODB_READ,
        "dynamodb:CreateTable dynamodb:DeleteTable dynamodb:TagResource dynamodb:UntagResource "
        "dynamodb:UpdateContinuousBackups dynamodb:UpdateTable dynamodb:UpdateTimeToLive "
        f"{_KMS_USE}",
    ),
    # A table with replicas (a global table): what adding and removing a replica needs in the
    # replica's region, item actions included (DynamoDB Developer Guide, "Using IAM with
    # global tables": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2gt_IAM.html).
    "aws_dynamodb_table+replica": _entry(
        _DYNAMODB_READ,
        "dynamodb:BatchWriteItem dynamodb:CreateTableReplica dynamodb:DeleteItem "
        "dynamodb:DeleteTableReplica dynamodb:GetItem dynamodb:PutItem dynamodb:Query "
        "dynamodb:Scan dynamodb:UpdateItem",
        linked="replication.dynamodb.amazonaws.com",
    ),
    "aws_appautoscaling_target": _entry(
        _AUTOSCALING_READ,
        "application-autoscaling:DeregisterScalableTarget "
        "application-autoscaling:RegisterScalableTarget application-autoscaling:TagResource "
        f"application-autoscaling:UntagResource dynamodb:DescribeTable dynamodb:UpdateTable "
        f"{_ALARM_WRITE}",
        linked="dynamodb.application-autoscaling.amazonaws.com",
    ),
    "aws_appautoscaling_policy": _entry(
        _AUTOSCALING_READ,
        "application-autoscaling:DeleteScalingPolicy application-autoscaling:PutScalingPolicy "
        f"{_ALARM_WRITE}",
    ),
    "aws_sqs_queue": _entry(
        "sqs:GetQueueAttributes sqs:GetQueueUrl sqs:ListQueueTags",
        "sqs:CreateQueue sqs:DeleteQueue sqs:SetQueueAttributes sqs:TagQueue sqs:UntagQueue",
    ),
    "aws_sqs_queue_policy": _entry("sqs:GetQueueAttributes", "sqs:SetQueueAttributes"),
    "aws_sns_topic": _entry(
        "sns:GetTopicAttributes sns:ListTagsForResource",
        "sns:CreateTopic sns:DeleteTopic sns:SetTopicAttributes sns:TagResource sns:UntagResource",
    ),
    "aws_sns_topic_policy": _entry("sns:GetTopicAttributes", "sns:SetTopicAttributes"),
    # Alarm receivers (``alarm_subscriptions``), when an environment names some.
    "aws_sns_topic_subscription": _entry(
        "sns:GetSubscriptionAttributes sns:ListSubscriptionsByTopic",
        "sns:SetSubscriptionAttributes sns:Subscribe sns:Unsubscribe",
    ),
    "aws_cloudwatch_metric_alarm": _entry(
        _ALARM_READ, f"{_ALARM_WRITE} cloudwatch:TagResource cloudwatch:UntagResource"
    ),
    # force_destroy (unprotected deployments) deletes every object version first.
    "aws_s3_bucket": _s3(
        "s3:CreateBucket s3:DeleteBucket s3:PutBucketTagging s3:DeleteObject "
        "s3:DeleteObjectVersion s3:ListBucketVersions"
    ),
    "aws_s3_bucket_versioning": _s3("s3:PutBucketVersioning"),
    "aws_s3_bucket_server_side_encryption_configuration": _s3("s3:PutEncryptionConfiguration"),
    "aws_s3_bucket_public_access_block": _s3("s3:PutBucketPublicAccessBlock"),
    "aws_s3_bucket_policy": _s3("s3:DeleteBucketPolicy s3:PutBucketPolicy"),
    "aws_s3_bucket_ownership_controls": _s3("s3:PutBucketOwnershipControls"),
    "aws_s3_bucket_lifecycle_configuration": _s3("s3:PutLifecycleConfiguration"),
    "aws_s3_bucket_logging": _s3("s3:PutBucketLogging"),
    "aws_s3_bucket_notification": _s3("s3:PutBucketNotification"),
    "aws_apigatewayv2_api": _apigateway(),
    "aws_apigatewayv2_api_mapping": _apigateway(),
    "aws_apigatewayv2_authorizer": _apigateway(),
    "aws_apigatewayv2_integration": _apigateway(),
    "aws_apigatewayv2_route": _apigateway(),
    "aws_apigatewayv2_stage": _apigateway(_HTTP_API_LOGGING),
    "aws_apigatewayv2_domain_name": _entry(
        f"{_APIGATEWAY_READ} acm:DescribeCertificate",
        _APIGATEWAY_WRITE,
        linked="ops.apigateway.amazonaws.com",
    ),
    "aws_acm_certificate": _entry(
        _ACM_READ,
        "acm:AddTagsToCertificate acm:DeleteCertificate acm:RemoveTagsFromCertificate "
        "acm:RequestCertificate acm:UpdateCertificateOptions",
    ),
    "aws_acm_certificate_validation": _entry(_ACM_READ),
    "aws_route53_record": _entry(_ROUTE53_READ, "route53:ChangeResourceRecordSets"),
    "aws_route53_health_check": _entry(
        _ROUTE53_READ,
        "route53:ChangeTagsForResource route53:CreateHealthCheck route53:DeleteHealthCheck "
        "route53:UpdateHealthCheck",
    ),
    "aws_db_subnet_group": _rds(
        "rds:CreateDBSubnetGroup rds:DeleteDBSubnetGroup rds:ModifyDBSubnetGroup"
    ),
    "aws_rds_cluster_parameter_group": _rds(
        "rds:CreateDBClusterParameterGroup rds:DeleteDBClusterParameterGroup "
        "rds:ModifyDBClusterParameterGroup rds:ResetDBClusterParameterGroup"
    ),
    # manage_master_user_password with a customer managed key: RDS creates the master secret
    # as the caller (kms:DescribeKey, secretsmanager:CreateSecret and TagResource; with the key,
    # kms:Decrypt, GenerateDataKey and CreateGrant) and rotates it with
    # secretsmanager:RotateSecret (Aurora User Guide, "Permissions required for Secrets Manager
    # integration":
    # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-secrets-manager.html#rds-secrets-manager-permissions).
    "aws_rds_cluster": _entry(
        _RDS_READ,
        "rds:CreateDBCluster rds:DeleteDBCluster rds:ModifyDBCluster rds:RemoveFromGlobalCluster "
        f"{_RDS_TAGS} {_KMS_USE} secretsmanager:CreateSecret secretsmanager:RotateSecret "
        "secretsmanager:TagResource",
        linked="rds.amazonaws.com",
    ),
    "aws_rds_cluster_instance": _rds(
        f"rds:CreateDBInstance rds:DeleteDBInstance rds:ModifyDBInstance iam:PassRole {_KMS_USE}"
    ),
    "aws_rds_global_cluster": _rds(
        "rds:CreateGlobalCluster rds:DeleteGlobalCluster rds:ModifyGlobalCluster "
        "rds:RemoveFromGlobalCluster"
    ),
    # The master secret's rotation schedule: RDS's managed rotation, or an existing function
    # rotating an existing secret (the global database), for which RotateSecret also needs
    # lambda:InvokeFunction on the function (Secrets Manager API Reference, RotateSecret:
    # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html).
    "aws_secretsmanager_secret_rotation": _entry(
        _SECRETS_READ,
        "secretsmanager:CancelRotateSecret secretsmanager:RotateSecret lambda:InvokeFunction",
    ),
    # Data sources: reads only.
    "data.aws_caller_identity": _entry(),  # sts:GetCallerIdentity needs no permission
    "data.aws_partition": _entry(),  # no API call
    "data.aws_route53_zone": _entry(_ROUTE53_READ),
    "data.aws_secretsmanager_secret": _entry(_SECRETS_READ),
    "data.aws_security_groups": _entry(_EC2_READ),
    "data.aws_subnets": _entry(_EC2_READ),
    "data.aws_vpc": _entry(_EC2_READ),
    # Other stacks' state: granted by the state statements (pipeline_identity).
    "data.terraform_remote_state": _entry(),
    # The global database's master password, opened to be written into the cluster (a
    # write-only argument) and never stored: a secret value, so apply only, never a plan.
    "ephemeral.aws_secretsmanager_secret_version": _entry(
        apply="secretsmanager:GetSecretValue kms:Decrypt"
    ),
}

#: Block kinds of a cdk.tf.json and the prefix of their types in :data:`PERMISSIONS`.
_BLOCK_PREFIXES = {"resource": "", "data": "data.", "ephemeral": "ephemeral."}


def declared_types(document: Mapping[str, Any]) -> frozenset[str]:
    """The block types one synthesized stack (its cdk.tf.json) declares, as keyed in
    :data:`PERMISSIONS`; a table with replicas adds ``aws_dynamodb_table+replica``."""
    found: set[str] = set()
    for kind, prefix in _BLOCK_PREFIXES.items():
        blocks = document.get(kind) or {}
        found.update(f"{prefix}{block_type}" for block_type in blocks)
    tables = (document.get("resource") or {}).get("aws_dynamodb_table") or {}
    if any(table.get("replica") for table in tables.values()):
        found.add("aws_dynamodb_table+replica")
    return frozenset(found)


def missing_types(types: Iterable[str]) -> list[str]:
    """The types of ``types`` :data:`PERMISSIONS` has no entry for, sorted."""
    return sorted(set(types) - set(PERMISSIONS))

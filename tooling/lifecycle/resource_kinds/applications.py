"""What runs the platform's code and what it talks through: Lambda functions, HTTP APIs and
their custom domain names, SQS queues, SNS topics, CloudWatch alarms and log groups.

All are the platform's by name, except the custom domain names (a DNS name of the
deployment's zone): by their tags.
"""

from __future__ import annotations

from tooling.lifecycle.resource_kinds.model import (
    Clients,
    GoneError,
    Kind,
    Scan,
    named_like_the_platform,
)

__all__ = ["ALARM", "API_DOMAIN_NAME", "FUNCTION", "HTTP_API", "LOG_GROUP", "QUEUE", "TOPIC"]


def _functions(clients: Clients, region: str) -> list[str]:
    return [f["FunctionName"] for f in clients("lambda", region).list_functions()["Functions"]]


def _delete_function(clients: Clients, region: str, name: str) -> str:
    clients("lambda", region).delete_function(FunctionName=name)
    return "deleted"


def _http_apis(clients: Clients, region: str) -> list[str]:
    return [a["Name"] for a in clients("apigatewayv2", region).get_apis().get("Items", [])]


def _delete_http_api(clients: Clients, region: str, name: str) -> str:
    api = clients("apigatewayv2", region)
    ids = [a["ApiId"] for a in api.get_apis().get("Items", []) if a.get("Name") == name]
    if not ids:
        raise GoneError
    for api_id in ids:
        api.delete_api(ApiId=api_id)
    return f"deleted ({', '.join(ids)})"


def _api_domain_names(scan: Scan, region: str) -> list[str]:
    domains = scan.clients("apigatewayv2", region).get_domain_names().get("Items", [])
    return [
        domain["DomainName"]
        for domain in domains
        if scan.owner.tagged(
            [{"Key": k, "Value": v} for k, v in (domain.get("Tags") or {}).items()]
        )
    ]


def _delete_api_domain(clients: Clients, region: str, name: str) -> str:
    api = clients("apigatewayv2", region)
    mappings = api.get_api_mappings(DomainName=name).get("Items", [])
    for mapping in mappings:
        api.delete_api_mapping(ApiMappingId=mapping["ApiMappingId"], DomainName=name)
    api.delete_domain_name(DomainName=name)
    return f"deleted (and {len(mappings)} API mapping(s))" if mappings else "deleted"


def _alarms(clients: Clients, region: str) -> list[str]:
    listing = clients("cloudwatch", region).describe_alarms().get("MetricAlarms", [])
    return [a["AlarmName"] for a in listing]


def _delete_alarm(clients: Clients, region: str, name: str) -> str:
    cloudwatch = clients("cloudwatch", region)
    if not cloudwatch.describe_alarms(AlarmNames=[name]).get("MetricAlarms"):
        raise GoneError
    cloudwatch.delete_alarms(AlarmNames=[name])
    return "deleted"


def _queues(clients: Clients, region: str) -> list[str]:
    return [u.rsplit("/", 1)[-1] for u in clients("sqs", region).list_queues().get("QueueUrls", [])]


def _delete_queue(clients: Clients, region: str, name: str) -> str:
    sqs = clients("sqs", region)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    return "deleted"


def _topics(clients: Clients, region: str) -> list[str]:
    listing = clients("sns", region).list_topics().get("Topics", [])
    return [t["TopicArn"].rsplit(":", 1)[-1] for t in listing]


def _delete_topic(clients: Clients, region: str, name: str) -> str:
    sns = clients("sns", region)
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                sns.delete_topic(TopicArn=topic["TopicArn"])
                return "deleted"
    raise GoneError


def _log_groups(clients: Clients, region: str) -> list[str]:
    listing = clients("logs", region).describe_log_groups().get("logGroups", [])
    return [g["logGroupName"] for g in listing]


def _delete_log_group(clients: Clients, region: str, name: str) -> str:
    clients("logs", region).delete_log_group(logGroupName=name)
    return "deleted"


API_DOMAIN_NAME = Kind("api domain name", _api_domain_names, _delete_api_domain)
HTTP_API = Kind("http api", named_like_the_platform(_http_apis), _delete_http_api)
ALARM = Kind("alarm", named_like_the_platform(_alarms), _delete_alarm)
FUNCTION = Kind("lambda function", named_like_the_platform(_functions), _delete_function)
QUEUE = Kind("sqs queue", named_like_the_platform(_queues), _delete_queue)
TOPIC = Kind("sns topic", named_like_the_platform(_topics), _delete_topic)
LOG_GROUP = Kind("log group", named_like_the_platform(_log_groups), _delete_log_group)

"""Specification of one region's application stack, read off the synthesized JSON (its network
stack: test_network_stack.py)."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.conftest import Stack, remote

PROCESSOR = "Processor/Function"
API_HANDLER = "ApiHandler/Function"


def ref(stack: Stack, resource_type: str, path_suffix: str, attribute: str) -> str:
    return "${" + stack.address(resource_type, path_suffix) + "." + attribute + "}"


def policy(resource: dict[str, Any], field: str = "policy") -> dict[str, Any]:
    document: dict[str, Any] = json.loads(resource[field])
    return document


# --- Storage ---------------------------------------------------------------------------------


def test_data_bucket_is_encrypted_with_the_platform_key_and_bucket_key(stack: Stack) -> None:
    encryption = stack.by_path(
        "aws_s3_bucket_server_side_encryption_configuration", "DataBucketEncryption"
    )
    rule = encryption["rule"][0]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": remote("kms_key_arn"),
    }
    assert rule["bucket_key_enabled"] is True


def test_both_buckets_block_all_public_access(stack: Stack) -> None:
    blocks = stack.resources("aws_s3_bucket_public_access_block").values()
    assert len(blocks) == 2
    for block in blocks:
        assert all(
            block[flag] is True
            for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                         "restrict_public_buckets")
        )  # fmt: skip


def test_both_buckets_deny_requests_without_tls(stack: Stack) -> None:
    for bucket_policy in stack.resources("aws_s3_bucket_policy").values():
        deny = [s for s in policy(bucket_policy)["Statement"] if s["Effect"] == "Deny"]
        assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert deny[0]["Action"] == "s3:*"


def test_data_bucket_logs_access_to_the_log_bucket(stack: Stack) -> None:
    logging = stack.only("aws_s3_bucket_logging")
    assert logging["target_bucket"] == ref(stack, "aws_s3_bucket", "LogBucket", "id")
    log_policy = stack.by_path("aws_s3_bucket_policy", "LogBucketPolicy")
    delivery = [s for s in policy(log_policy)["Statement"] if s["Effect"] == "Allow"]
    assert delivery[0]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery[0]["Resource"].endswith("/data-bucket/*")


def test_incomplete_multipart_uploads_are_aborted_on_every_bucket(stack: Stack) -> None:
    for lifecycle in stack.resources("aws_s3_bucket_lifecycle_configuration").values():
        aborts = [r for r in lifecycle["rule"] if "abort_incomplete_multipart_upload" in r]
        assert (
            aborts
            and aborts[0]["abort_incomplete_multipart_upload"][0]["days_after_initiation"] == 7
        )


def test_new_trade_files_notify_the_processor_for_the_incoming_prefix_only(stack: Stack) -> None:
    notification = stack.only("aws_s3_bucket_notification")
    (target,) = notification["lambda_function"]
    assert target["lambda_function_arn"] == ref(stack, "aws_lambda_function", PROCESSOR, "arn")
    assert target["events"] == ["s3:ObjectCreated:*"]
    assert target["filter_prefix"] == "incoming/"
    permission = stack.by_path("aws_lambda_permission", "ProcessorInvokeFromBucket")
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["source_arn"] == ref(stack, "aws_s3_bucket", "DataBucket", "arn")


def test_failed_processor_events_go_to_an_encrypted_dead_letter_queue(stack: Stack) -> None:
    invoke_config = stack.by_path(
        "aws_lambda_function_event_invoke_config", "Processor/AsyncInvokeConfig"
    )
    queue_arn = ref(stack, "aws_sqs_queue", "Processor/DeadLetterQueue", "arn")
    assert invoke_config["destination_config"]["on_failure"]["destination"] == queue_arn
    assert invoke_config["maximum_retry_attempts"] == 2
    queue = stack.by_path("aws_sqs_queue", "Processor/DeadLetterQueue")
    assert queue["kms_master_key_id"] == remote("kms_key_arn")
    assert queue["message_retention_seconds"] == 14 * 24 * 3600


def test_buckets_can_be_destroyed_with_their_objects(stack: Stack) -> None:
    assert all(b["force_destroy"] is True for b in stack.resources("aws_s3_bucket").values())


# --- Database --------------------------------------------------------------------------------


def test_aurora_cluster_is_encrypted_backed_up_and_logged(stack: Stack) -> None:
    cluster = stack.only("aws_rds_cluster")
    assert cluster["engine"] == "aurora-mysql"
    assert cluster["storage_encrypted"] is True
    assert cluster["kms_key_id"] == remote("kms_key_arn")
    assert cluster["backup_retention_period"] == 1
    assert cluster["copy_tags_to_snapshot"] is True
    assert cluster["enabled_cloudwatch_logs_exports"] == ["audit", "error", "general", "slowquery"]
    assert cluster["iam_database_authentication_enabled"] is True


def test_aurora_master_password_is_managed_by_secrets_manager(stack: Stack) -> None:
    cluster = stack.only("aws_rds_cluster")
    assert cluster["manage_master_user_password"] is True
    assert cluster["master_user_secret_kms_key_id"] == remote("secrets_kms_key_arn")
    assert "master_password" not in cluster


def test_master_secret_rotates_on_a_visible_schedule(stack: Stack) -> None:
    rotation = stack.only("aws_secretsmanager_secret_rotation")
    assert rotation["rotation_rules"] == {"automatically_after_days": 30}
    assert (
        "aws_rds_cluster" in rotation["secret_id"] and "master_user_secret" in rotation["secret_id"]
    )
    # The first rotation on the schedule, not while the deploy runs.
    assert rotation["rotate_immediately"] is False


def test_automatic_minor_upgrades_never_turn_the_next_plan_into_a_downgrade(stack: Stack) -> None:
    # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraMySQL.Updates.AMVU.html:
    # Aurora moves the engine version; Terraform keeps the one it created the cluster with.
    cluster = stack.only("aws_rds_cluster")
    writer = stack.only("aws_rds_cluster_instance")
    assert (cluster["engine_version"], writer["engine_version"]) == (
        "8.0.mysql_aurora.3.08.0",
        "8.0.mysql_aurora.3.08.0",
    )
    assert writer["auto_minor_version_upgrade"] is True
    assert cluster["lifecycle"] == {"ignore_changes": ["engine_version"]}
    assert writer["lifecycle"] == {"ignore_changes": ["engine_version"]}


def test_database_lives_in_the_private_subnets_behind_its_security_group(stack: Stack) -> None:
    subnet_group = stack.only("aws_db_subnet_group")
    assert subnet_group["subnet_ids"] == remote("private_subnet_ids")
    cluster = stack.only("aws_rds_cluster")
    assert cluster["vpc_security_group_ids"] == [remote("database_security_group_id")]
    assert stack.only("aws_rds_cluster_instance")["publicly_accessible"] is False


def test_database_requires_tls(stack: Stack) -> None:
    parameters = stack.only("aws_rds_cluster_parameter_group")["parameter"]
    assert {"name": "require_secure_transport", "value": "ON"} in parameters


def test_database_can_be_destroyed(stack: Stack) -> None:
    cluster = stack.only("aws_rds_cluster")
    assert cluster["deletion_protection"] is False
    assert cluster["skip_final_snapshot"] is True


# --- Sessions and trades ---------------------------------------------------------------------


def test_sessions_table_expires_items_by_ttl(stack: Stack) -> None:
    sessions = stack.by_path("aws_dynamodb_table", "SessionsTable")
    assert sessions["hash_key"] == "session_id"
    assert sessions["ttl"] == {"attribute_name": "expires_at", "enabled": True}


def test_trades_table_has_the_account_index_newest_first(stack: Stack) -> None:
    trades = stack.by_path("aws_dynamodb_table", "TradesTable")
    assert trades["hash_key"] == "trade_id"
    (index,) = trades["global_secondary_index"]
    assert (index["name"], index["hash_key"], index["range_key"]) == (
        "by-account-executed-at",
        "account_id",
        "executed_at",
    )


def test_tables_have_pitr_cmk_encryption_and_no_deletion_protection(stack: Stack) -> None:
    key_arn = remote("kms_key_arn")
    for table in stack.resources("aws_dynamodb_table").values():
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": key_arn}
        assert table["deletion_protection_enabled"] is False


# --- Compute ---------------------------------------------------------------------------------


def test_functions_run_python312_in_the_private_subnets_with_tracing(stack: Stack) -> None:
    for function in stack.resources("aws_lambda_function").values():
        assert function["runtime"] == "python3.12"
        assert function["timeout"] == 30
        assert function["memory_size"] == 256
        assert function["tracing_config"] == {"mode": "Active"}
        assert function["vpc_config"]["security_group_ids"] == [remote("lambda_security_group_id")]
        assert function["vpc_config"]["subnet_ids"] == remote("private_subnet_ids")


def test_functions_reference_their_zip_through_a_terraform_asset(stack: Stack) -> None:
    for function in stack.resources("aws_lambda_function").values():
        assert function["filename"].startswith("assets/")
        assert function["filename"].endswith(".zip")
        assert len(function["source_code_hash"]) == 44  # base64 of a sha256


def test_functions_have_a_dead_letter_queue_and_an_explicit_log_group(stack: Stack) -> None:
    for service, prefix in (("processor", "Processor"), ("api_handler", "ApiHandler")):
        function = stack.by_path("aws_lambda_function", f"{prefix}/Function")
        assert function["dead_letter_config"]["target_arn"] == ref(
            stack, "aws_sqs_queue", f"{prefix}/DeadLetterQueue", "arn"
        )
        log_group = stack.by_path("aws_cloudwatch_log_group", f"{prefix}/LogGroup")
        assert log_group["name"] == f"/aws/lambda/{function['function_name']}"
        assert log_group["retention_in_days"] == 7
        assert service.replace("_", "-") in function["function_name"]


def test_functions_get_their_table_names_and_settings_from_the_environment(stack: Stack) -> None:
    processor = stack.by_path("aws_lambda_function", PROCESSOR)["environment"]["variables"]
    api = stack.by_path("aws_lambda_function", API_HANDLER)["environment"]["variables"]
    trades_name = ref(stack, "aws_dynamodb_table", "TradesTable", "name")
    assert processor["TRADES_TABLE_NAME"] == trades_name
    assert processor["QUARANTINE_PREFIX"] == "quarantine/"
    assert api["TRADES_TABLE_NAME"] == trades_name
    assert (
        api["SESSIONS_TABLE_NAME"] == stack.by_path("aws_dynamodb_table", "SessionsTable")["name"]
    )
    assert api["TRADES_BY_ACCOUNT_INDEX"] == "by-account-executed-at"


def test_each_function_has_its_own_role(stack: Stack) -> None:
    functions = stack.resources("aws_lambda_function").values()
    assert len({f["role"] for f in functions}) == len(functions) == 3


# --- API -------------------------------------------------------------------------------------


def test_http_api_proxies_to_the_api_handler_with_payload_2(stack: Stack) -> None:
    assert stack.only("aws_apigatewayv2_api")["protocol_type"] == "HTTP"
    integration = stack.only("aws_apigatewayv2_integration")
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["payload_format_version"] == "2.0"
    assert integration["integration_uri"] == ref(
        stack, "aws_lambda_function", API_HANDLER, "invoke_arn"
    )


def test_every_handler_route_is_declared(stack: Stack) -> None:
    routes = {r["route_key"] for r in stack.resources("aws_apigatewayv2_route").values()}
    assert routes == {
        "GET /health",
        "POST /sessions",
        "GET /sessions/{session_id}",
        "DELETE /sessions/{session_id}",
        "GET /trades/{trade_id}",
        "GET /accounts/{account_id}/trades",
        "GET /sessions/current",
        "$default",
    }


def test_only_the_health_route_is_open_without_credentials(stack: Stack) -> None:
    open_routes = [
        r["route_key"] for r in stack.resources("aws_apigatewayv2_route").values()
        if r["authorization_type"] == "NONE"
    ]  # fmt: skip
    assert open_routes == ["GET /health"]


def test_stage_auto_deploys_logs_access_and_throttles(stack: Stack) -> None:
    stage = stack.only("aws_apigatewayv2_stage")
    assert stage["auto_deploy"] is True
    assert stage["access_log_settings"]["destination_arn"] == ref(
        stack, "aws_cloudwatch_log_group", "AccessLogGroup", "arn"
    )
    assert "$context.requestId" in stage["access_log_settings"]["format"]
    assert stage["default_route_settings"]["throttling_rate_limit"] == 50
    assert stage["default_route_settings"]["throttling_burst_limit"] == 100


def test_api_may_invoke_the_handler_only_through_this_api(stack: Stack) -> None:
    permission = stack.by_path("aws_lambda_permission", "Api/InvokePermission")
    assert permission["principal"] == "apigateway.amazonaws.com"
    api_execution_arn = ref(stack, "aws_apigatewayv2_api", "Api/Api", "execution_arn")
    assert permission["source_arn"] == f"{api_execution_arn}/*/*"


# --- Monitoring ------------------------------------------------------------------------------


def alarm_metrics(stack: Stack) -> list[tuple[str, str]]:
    result = []
    for alarm in stack.resources("aws_cloudwatch_metric_alarm").values():
        if "metric_query" in alarm:
            metrics = [q["metric"]["metric_name"] for q in alarm["metric_query"] if "metric" in q]
            result.append(("math", "/".join(sorted(metrics))))
        else:
            result.append((alarm["namespace"], alarm["metric_name"]))
    return sorted(result)


def test_alarms_cover_database_functions_tables_api_and_dead_letters(stack: Stack) -> None:
    assert alarm_metrics(stack) == sorted(
        [("AWS/RDS", "CPUUtilization")]
        + [("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles")] * 3
        + [("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents")] * 2
        + [("AWS/SQS", "ApproximateNumberOfMessagesVisible")] * 3
        + [("math", "5xx/Count")]
        + [("TAP/Drift", "ResourcesToChange")]
    )


def test_every_alarm_notifies_the_encrypted_topic(stack: Stack) -> None:
    topic_arn = ref(stack, "aws_sns_topic", "AlarmTopic", "arn")
    assert stack.only("aws_sns_topic")["kms_master_key_id"] == remote("kms_key_arn")
    for alarm in stack.resources("aws_cloudwatch_metric_alarm").values():
        assert alarm["alarm_actions"] == [topic_arn]


def test_api_5xx_alarm_watches_a_rate_not_a_count(stack: Stack) -> None:
    alarm = stack.by_path("aws_cloudwatch_metric_alarm", "Api5xxRate")
    (expression,) = [q for q in alarm["metric_query"] if "expression" in q]
    assert expression["expression"] == "IF(requests > 0, 100 * errors / requests, 0)"
    assert alarm["threshold"] == 5


# --- State and outputs -----------------------------------------------------------------------


def test_state_lives_in_s3_encrypted_with_both_lock_mechanisms(stack: Stack) -> None:
    backend = stack.document["terraform"]["backend"]["s3"]
    assert backend["bucket"] == "tap-terraform-state-dev"  # the environment's own bucket
    assert backend["key"] == "tap/dev/tap-dev-ap-southeast-1-app.tfstate"
    assert backend["encrypt"] is True
    assert backend["kms_key_id"] == "alias/tap-terraform-state-dev"  # its own customer key
    assert backend["dynamodb_table"] == "tap-terraform-locks"
    assert backend["use_lockfile"] is True


def test_outputs_expose_what_clients_and_tests_need(stack: Stack, network: Stack) -> None:
    assert {"vpc_id", "public_subnet_ids", "private_subnet_ids", "kms_key_arn"} <= set(
        network.outputs
    )
    assert {
        "data_bucket_name",
        "sessions_table_name", "trades_table_name", "processor_function_name",
        "processor_function_arn", "api_handler_function_name", "api_handler_function_arn",
        "api_endpoint_url", "api_id", "api_stage_name", "database_endpoint",
        "database_secret_arn",
    } <= set(stack.outputs)  # fmt: skip


def test_application_reads_the_network_through_remote_state_on_the_s3_backend(
    stack: Stack, network: Stack
) -> None:
    remote_state = stack.document["data"]["terraform_remote_state"]["Network"]
    network_backend = network.document["terraform"]["backend"]["s3"]
    assert remote_state["backend"] == "s3"
    assert remote_state["config"]["bucket"] == network_backend["bucket"]
    assert remote_state["config"]["key"] == network_backend["key"]
    assert network_backend["key"] == "tap/dev/tap-dev-ap-southeast-1-network.tfstate"


def test_network_and_application_are_separate_stacks_with_an_order(stack: Stack) -> None:
    assert stack.resources("aws_vpc") == {}
    assert stack.resources("aws_kms_key") == {}
    assert stack.document["//"]["metadata"]["stackName"] == "tap-dev-ap-southeast-1-app"


def test_database_instances_publish_enhanced_monitoring_with_their_own_role(stack: Stack) -> None:
    writer = stack.only("aws_rds_cluster_instance")
    assert writer["monitoring_interval"] == 60
    assert writer["monitoring_role_arn"] == ref(stack, "aws_iam_role", "MonitoringRole", "arn")
    attachment = stack.only("aws_iam_role_policy_attachment")
    assert attachment["policy_arn"].endswith(
        ":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    )


def test_drift_alarm_does_not_page_while_no_drift_check_has_reported(stack: Stack) -> None:
    # Nothing runs ./tap drift on a schedule: no data is the normal state after a deploy, and
    # "missing" keeps the alarm in INSUFFICIENT_DATA instead of ALARM (breaching) or OK.
    alarm = stack.by_path("aws_cloudwatch_metric_alarm", "Monitoring/Drift")
    assert (alarm["namespace"], alarm["metric_name"]) == ("TAP/Drift", "ResourcesToChange")
    assert alarm["dimensions"] == {"Deployment": "dev", "Region": "ap-southeast-1"}
    assert alarm["treat_missing_data"] == "missing"
    assert alarm["threshold"] == 1
    assert alarm["alarm_actions"] == [ref(stack, "aws_sns_topic", "AlarmTopic", "arn")]

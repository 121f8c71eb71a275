"""The synthesized AIM template has the wiring and the protections the design requires."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aim.config import AimConfig
from aws_cdk.assertions import Match

from infra import constants as c
from tests.infra.support import ALERT_EMAILS, ESTABLISHMENTS, GOVERNOR_EMAILS, OPERATOR_EMAIL, Synthesized

pytestmark = pytest.mark.xdist_group("infra-synth")


def _ref_or_getatt(value: Any) -> str:
    if "Ref" in value:
        return str(value["Ref"])
    return str(value["Fn::GetAtt"][0])


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- ingest wiring --------------------------------------------------------------------


def test_uploads_under_incoming_notify_the_ingest_queue_for_both_suffixes(synthesized: Synthesized) -> None:
    queue_id = synthesized.logical_id(synthesized.stack.ingest.queue)
    (notifications,) = synthesized.of_type("Custom::S3BucketNotifications").values()
    configs = notifications["Properties"]["NotificationConfiguration"]["QueueConfigurations"]

    filters = set()
    for config in configs:
        assert config["Events"] == ["s3:ObjectCreated:*"]
        assert config["QueueArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
        rules = {r["Name"]: r["Value"] for r in config["Filter"]["Key"]["FilterRules"]}
        filters.add((rules["prefix"], rules["suffix"]))
    assert filters == {("incoming/", ".jsonl"), ("incoming/", ".jsonl.gz")}


def test_transform_drains_the_queue_reporting_partial_batch_failures(synthesized: Synthesized) -> None:
    ingest = synthesized.stack.ingest
    synthesized.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [synthesized.logical_id(ingest.queue), "Arn"]},
            "FunctionName": {"Ref": synthesized.logical_id(ingest.transform.function)},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BatchSize": c.INGEST_BATCH_SIZE,
        },
    )


def test_failed_notifications_move_to_the_dlq_after_five_receives(synthesized: Synthesized) -> None:
    ingest = synthesized.stack.ingest
    queue = synthesized.resources[synthesized.logical_id(ingest.queue)]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [synthesized.logical_id(ingest.dlq), "Arn"]},
        "maxReceiveCount": 5,
    }
    transform = synthesized.resources[synthesized.logical_id(ingest.transform.function)]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * transform["Timeout"]


def test_raw_uploads_expire_after_the_configured_retention(synthesized: Synthesized) -> None:
    bucket = synthesized.resources[synthesized.logical_id(synthesized.stack.ingest.bucket)]["Properties"]
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    raw = rules["expire-raw-uploads"]
    assert raw["Prefix"] == "incoming/"
    assert raw["Status"] == "Enabled"
    assert raw["ExpirationInDays"] == synthesized.config.retention.raw_upload_days


def test_ingest_bucket_is_private_versioned_encrypted_and_logged(synthesized: Synthesized) -> None:
    ingest = synthesized.stack.ingest
    bucket = synthesized.resources[synthesized.logical_id(ingest.bucket)]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (sse,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
        "Fn::GetAtt": [synthesized.logical_id(ingest.bucket_key), "Arn"]
    }
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == {
        "Ref": synthesized.logical_id(ingest.access_log_bucket)
    }


# --- scoring ----------------------------------------------------------------------------


def test_one_schedule_per_establishment_invokes_the_scorer(synthesized: Synthesized) -> None:
    scoring = synthesized.stack.scoring
    ids = [synthesized.logical_id(s) for s in scoring.schedules.values()]
    schedules = {i: synthesized.resources[i] for i in ids}
    score_arn = {"Fn::GetAtt": [synthesized.logical_id(scoring.score.function), "Arn"]}

    inputs = []
    for schedule in schedules.values():
        props = schedule["Properties"]
        assert props["ScheduleExpression"] == f"rate({synthesized.config.schedule_minutes} minutes)"
        assert props["State"] == "ENABLED"
        target = props["Target"]
        assert target["Arn"] == score_arn
        assert target["RoleArn"] == {"Fn::GetAtt": [synthesized.logical_id(scoring.scheduler_role), "Arn"]}
        assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [synthesized.logical_id(scoring.dlq), "Arn"]}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
        inputs.append(json.loads(target["Input"]))
    assert sorted(inputs, key=lambda i: i["establishment"]) == [
        {"establishment": est, "scheduled_time": "<aws.scheduler.scheduled-time>"} for est in sorted(ESTABLISHMENTS)
    ]


def test_scheduler_role_may_only_invoke_the_scorer_and_feed_its_dlq(synthesized: Synthesized) -> None:
    scoring = synthesized.stack.scoring
    role_id = synthesized.logical_id(scoring.scheduler_role)
    policies = [
        p
        for p in synthesized.of_type("AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    actions = {
        a for p in policies for s in _statements(p["Properties"]["PolicyDocument"]) for a in _as_list(s["Action"])
    }
    assert actions == {"lambda:InvokeFunction", "sqs:SendMessage", "kms:Decrypt", "kms:GenerateDataKey"}


# --- functions ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [c.TRANSFORM_FUNCTION, c.SCORE_FUNCTION])
def test_functions_run_python_313_x86_with_the_shared_environment(synthesized: Synthesized, name: str) -> None:
    stack = synthesized.stack
    function = {c.TRANSFORM_FUNCTION: stack.ingest.transform, c.SCORE_FUNCTION: stack.scoring.score}[name]
    props = synthesized.resources[synthesized.logical_id(function.function)]["Properties"]

    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["x86_64"]
    assert props["Handler"] == {c.TRANSFORM_FUNCTION: c.TRANSFORM_HANDLER, c.SCORE_FUNCTION: c.SCORE_HANDLER}[name]
    assert props["Layers"] == [{"Ref": synthesized.logical_id(synthesized.stack.node.find_child(c.DEPENDENCY_LAYER))}]
    assert props["TracingConfig"] == {"Mode": "Active"}
    env = props["Environment"]["Variables"]
    assert env[c.ENV_ACTIVITY_TABLE] == {"Ref": synthesized.logical_id(stack.storage.activity_table)}
    assert env[c.ENV_STATE_TABLE] == {"Ref": synthesized.logical_id(stack.storage.state_table)}
    assert env[c.ENV_INGEST_BUCKET] == {"Ref": synthesized.logical_id(stack.ingest.bucket)}
    assert env[c.ENV_ALERT_TOPIC_ARN] == {"Ref": synthesized.logical_id(stack.alerting.topic)}
    assert env[c.ENV_POWERTOOLS_SERVICE_NAME] == "aim"
    assert env[c.ENV_POWERTOOLS_METRICS_NAMESPACE] == "AIM"
    assert env[c.ENV_LOG_LEVEL] == "INFO"
    runtime_config = synthesized.config.model_copy(update={"alert_emails": [], "governor_emails": []})
    assert AimConfig.model_validate_json(env[c.ENV_AIM_CONFIG]) == runtime_config


def _function_environments(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        logical_id: function["Properties"].get("Environment", {}).get("Variables", {})
        for logical_id, function in synthesized.of_type("AWS::Lambda::Function").items()
    }


def test_no_function_environment_carries_staff_addresses(synthesized: Synthesized) -> None:
    # Given a configuration with alert addresses (subscribed to the alert topic at deploy)
    assert synthesized.config.alert_emails and synthesized.config.governor_emails
    environments = _function_environments(synthesized)
    assert len(environments) >= 2
    for logical_id, env in environments.items():
        text = json.dumps(env)
        # Then no function's environment names them, or any address at all
        assert "alert_emails" not in text and "governor_emails" not in text, logical_id
        assert not re.search(r"[^@\s\"]+@[^@\s\"]+\.[a-z]{2,}", text), (logical_id, text)
        for address in [*ALERT_EMAILS, *GOVERNOR_EMAILS, OPERATOR_EMAIL]:
            assert address not in text, (logical_id, address)


def test_alert_id_key_is_a_generated_encrypted_secret_only_the_scorer_reads(synthesized: Synthesized) -> None:
    stack = synthesized.stack
    secret_id = synthesized.logical_id(stack.scoring.alert_id_key)
    secret = synthesized.resources[secret_id]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert "GenerateSecretString" in secret["Properties"]
    assert "SecretString" not in secret["Properties"]
    assert "KmsKeyId" in secret["Properties"]
    assert secret["DeletionPolicy"] == "Retain"

    score_id = synthesized.logical_id(stack.scoring.score.function)
    for logical_id, env in _function_environments(synthesized).items():
        if logical_id == score_id:
            assert env[c.ENV_ALERT_ID_KEY_SECRET_ARN] == {"Ref": secret_id}
        else:
            assert c.ENV_ALERT_ID_KEY_SECRET_ARN not in env, logical_id

    readers: set[str] = set()
    for policy in [
        *synthesized.of_type("AWS::IAM::Policy").values(),
        *synthesized.of_type("AWS::IAM::ManagedPolicy").values(),
    ]:
        props = policy["Properties"]
        for statement in _statements(props["PolicyDocument"]):
            if {"Ref": secret_id} in _as_list(statement.get("Resource", [])):
                assert set(_as_list(statement["Action"])) <= {
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                }
                readers.update(_ref_or_getatt(role) for role in props.get("Roles", []))
    assert readers == {synthesized.logical_id(stack.scoring.score.role)}


def test_log_groups_have_retention_and_encryption(synthesized: Synthesized) -> None:
    log_groups = synthesized.of_type("AWS::Logs::LogGroup")
    assert len(log_groups) >= 2
    for log_group in log_groups.values():
        assert log_group["Properties"]["RetentionInDays"] >= 365
        assert "KmsKeyId" in log_group["Properties"]


# --- storage --------------------------------------------------------------------------


@pytest.mark.parametrize("table_attr", ["activity_table", "state_table"])
def test_tables_are_on_demand_with_pitr_deletion_protection_and_own_key(
    synthesized: Synthesized, table_attr: str
) -> None:
    storage = synthesized.stack.storage
    table_id = synthesized.logical_id(getattr(storage, table_attr))
    key = storage.activity_key if table_attr == "activity_table" else storage.state_key
    resource = synthesized.resources[table_id]
    props = resource["Properties"]

    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True
    assert props["SSESpecification"] == {
        "KMSMasterKeyId": {"Fn::GetAtt": [synthesized.logical_id(key), "Arn"]},
        "SSEEnabled": True,
        "SSEType": "KMS",
    }
    assert resource["DeletionPolicy"] == "Retain"


def test_activity_facts_expire_by_ttl(synthesized: Synthesized) -> None:
    activity = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.activity_table)]
    assert activity["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_state_of_people_who_left_and_alert_records_expire_by_ttl(synthesized: Synthesized) -> None:
    state = synthesized.resources[synthesized.logical_id(synthesized.stack.storage.state_table)]
    assert state["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_every_data_store_has_its_own_rotating_key(synthesized: Synthesized) -> None:
    keys = synthesized.of_type("AWS::KMS::Key")
    assert all(k["Properties"]["EnableKeyRotation"] is True for k in keys.values())

    used: list[str] = []
    for table in synthesized.of_type("AWS::DynamoDB::Table").values():
        used.append(_ref_or_getatt(table["Properties"]["SSESpecification"]["KMSMasterKeyId"]))
    for queue in synthesized.of_type("AWS::SQS::Queue").values():
        used.append(_ref_or_getatt(queue["Properties"]["KmsMasterKeyId"]))
    for topic in synthesized.of_type("AWS::SNS::Topic").values():
        used.append(_ref_or_getatt(topic["Properties"]["KmsMasterKeyId"]))
    bucket = synthesized.resources[synthesized.logical_id(synthesized.stack.ingest.bucket)]["Properties"]
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    used.append(_ref_or_getatt(sse["KMSMasterKeyID"]))

    assert len(used) == 4 + 6 + 2 + 1  # tables (activity, state, case, audit), queues, topics, bucket
    assert len(set(used)) == len(used), "two data stores share a key"


# --- alerting and operations ------------------------------------------------------------


def test_alert_topic_is_encrypted_with_an_email_subscription_per_configured_address(
    synthesized: Synthesized,
) -> None:
    alerting = synthesized.stack.alerting
    topic_id = synthesized.logical_id(alerting.topic)
    synthesized.template.has_resource_properties(
        "AWS::SNS::Topic",
        {"KmsMasterKeyId": {"Fn::GetAtt": [synthesized.logical_id(alerting.topic_key), "Arn"]}},
    )
    subscriptions = [
        s["Properties"]
        for s in synthesized.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted({*ALERT_EMAILS, *GOVERNOR_EMAILS})
    assert {s["Protocol"] for s in subscriptions} == {"email"}
    dlq_arn = {"Fn::GetAtt": [synthesized.logical_id(alerting.delivery_dlq), "Arn"]}
    assert all(s["RedrivePolicy"] == {"deadLetterTargetArn": dlq_arn} for s in subscriptions)


def test_operator_topic_gets_operator_emails_and_every_alarm(synthesized: Synthesized) -> None:
    operator_topic = {"Ref": synthesized.logical_id(synthesized.stack.operations.topic)}
    synthesized.template.has_resource_properties(
        "AWS::SNS::Subscription", {"TopicArn": operator_topic, "Protocol": "email", "Endpoint": OPERATOR_EMAIL}
    )
    alarms = synthesized.of_type("AWS::CloudWatch::Alarm")
    assert alarms
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [operator_topic]


def test_alarms_cover_dlqs_function_errors_missed_schedules_and_sns(synthesized: Synthesized) -> None:
    alarms = [a["Properties"] for a in synthesized.of_type("AWS::CloudWatch::Alarm").values()]
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for alarm in alarms:
        by_metric.setdefault(alarm["MetricName"], []).append(alarm)

    # IngestDLQ, ScoreDLQ, AlertDeliveryDLQ, EscalateDLQ, DigestDLQ
    assert len(by_metric["ApproximateNumberOfMessagesVisible"]) == 5
    assert len(by_metric["Errors"]) == 4  # Transform, Score, Escalate, Digest
    scorer_period = 2 * synthesized.config.schedule_minutes * 60
    (missed,) = [a for a in by_metric["Invocations"] if a["Period"] == scorer_period]
    assert missed["ComparisonOperator"] == "LessThanThreshold"
    assert missed["Threshold"] == 1
    assert missed["TreatMissingData"] == "breaching"
    assert missed["Period"] == 2 * synthesized.config.schedule_minutes * 60
    assert by_metric["NumberOfNotificationsFailed"][0]["Namespace"] == "AWS/SNS"
    assert by_metric["SMSMonthToDateSpentUSD"][0]["Threshold"] == c.DEFAULT_SMS_SPEND_ALARM_USD
    synthesized.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


# --- access control -------------------------------------------------------------------


def _policy_documents(synthesized: Synthesized) -> list[tuple[str, dict[str, Any]]]:
    documents = []
    for logical_id, resource in synthesized.resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append((logical_id, props["PolicyDocument"]))
        elif resource["Type"] == "AWS::IAM::Role":
            documents.extend((logical_id, p["PolicyDocument"]) for p in props.get("Policies", []))
        elif resource["Type"] in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            documents.append((logical_id, props["PolicyDocument"]))
    return documents


def _is_wildcard(action: str) -> bool:
    return action == "*" or action.endswith(":*")


def test_no_policy_allows_a_wildcard_action(synthesized: Synthesized) -> None:
    offenders = [
        (logical_id, action)
        for logical_id, document in _policy_documents(synthesized)
        for statement in _statements(document)
        if statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"])
        if _is_wildcard(action)
    ]
    assert offenders == []


def test_key_policies_allow_kms_wildcard_only_to_the_account_root(synthesized: Synthesized) -> None:
    """The default KMS key policy (root may administer the key, enabling IAM policies) is the
    only place a `kms:*` appears; services get exact actions."""
    for logical_id, key in synthesized.of_type("AWS::KMS::Key").items():
        for statement in _statements(key["Properties"]["KeyPolicy"]):
            if any(_is_wildcard(a) for a in _as_list(statement["Action"])):
                principal = json.dumps(statement["Principal"])
                assert ":root" in principal and "Service" not in principal, logical_id


def test_bucket_queues_and_topics_refuse_plain_http(synthesized: Synthesized) -> None:
    insecure_deny = Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    policy_doc = {"PolicyDocument": {"Statement": Match.array_with([insecure_deny])}}
    for policy_type, count in (
        ("AWS::S3::BucketPolicy", 2),
        ("AWS::SQS::QueuePolicy", 6),
        ("AWS::SNS::TopicPolicy", 2),
    ):
        matching = synthesized.template.find_resources(policy_type, {"Properties": policy_doc})
        assert len(matching) == count, policy_type


def test_transform_may_read_uploads_and_write_reports_and_quarantine_only(synthesized: Synthesized) -> None:
    role_id = synthesized.logical_id(synthesized.stack.ingest.transform.role)
    s3_grants: dict[str, list[str]] = {}
    for resource in synthesized.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in resource["Properties"]["Roles"]:
            continue
        for statement in _statements(resource["Properties"]["PolicyDocument"]):
            for action in _as_list(statement["Action"]):
                if action.startswith("s3:"):
                    suffixes = [r["Fn::Join"][1][1] for r in _as_list(statement["Resource"])]
                    s3_grants.setdefault(action, []).extend(suffixes)
    assert {k: sorted(v) for k, v in s3_grants.items()} == {
        "s3:GetObject": ["/incoming/*"],
        "s3:PutObject": ["/quarantine/*", "/reports/*"],
    }


def test_each_establishment_has_a_create_only_upload_policy(synthesized: Synthesized) -> None:
    kiosk = synthesized.stack.kiosk_access
    assert sorted(kiosk.policies) == sorted(ESTABLISHMENTS)
    for establishment, policy in kiosk.policies.items():
        document = synthesized.resources[synthesized.logical_id(policy)]["Properties"]["PolicyDocument"]
        (put,) = [s for s in _statements(document) if s["Action"] == "s3:PutObject"]
        assert put["Resource"]["Fn::Join"][1][1] == f"/incoming/{establishment}/*"
        assert put["Condition"] == {"StringEquals": {"s3:if-none-match": "*"}}


def test_kiosk_uploader_role_requires_an_establishment_session_tag(synthesized: Synthesized) -> None:
    role = synthesized.resources[synthesized.logical_id(synthesized.stack.kiosk_access.uploader_role)]
    (trust,) = _statements(role["Properties"]["AssumeRolePolicyDocument"])
    assert sorted(trust["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    assert sorted(trust["Condition"]["StringEquals"]["aws:RequestTag/establishment"]) == sorted(ESTABLISHMENTS)


def _key_statements_for(synthesized: Synthesized, key: Any, service: str) -> list[dict[str, Any]]:
    policy = synthesized.resources[synthesized.logical_id(key)]["Properties"]["KeyPolicy"]
    return [s for s in _statements(policy) if s.get("Principal") == {"Service": service}]


def test_services_delivering_into_encrypted_stores_may_use_their_keys(synthesized: Synthesized) -> None:
    """Without these, S3 notifications, alarm emails and dead-lettered alerts would silently drop."""
    stack = synthesized.stack
    assert stack.ingest.queue.encryption_master_key is not None
    assert stack.alerting.delivery_dlq.encryption_master_key is not None

    s3_on_queue_key = _key_statements_for(synthesized, stack.ingest.queue.encryption_master_key, "s3.amazonaws.com")
    assert any("kms:Decrypt" in _as_list(s["Action"]) for s in s3_on_queue_key)

    cloudwatch_on_topic_key = _key_statements_for(synthesized, stack.operations.topic_key, "cloudwatch.amazonaws.com")
    assert [sorted(s["Action"]) for s in cloudwatch_on_topic_key] == [["kms:Decrypt", "kms:GenerateDataKey"]]

    sns_on_dlq_key = _key_statements_for(
        synthesized, stack.alerting.delivery_dlq.encryption_master_key, "sns.amazonaws.com"
    )
    topic_ref = {"Ref": synthesized.logical_id(stack.alerting.topic)}
    assert [s["Condition"]["ArnLike"]["aws:SourceArn"] for s in sns_on_dlq_key] == [topic_ref]
    synthesized.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": synthesized.logical_id(stack.alerting.delivery_dlq)}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sqs:SendMessage",
                                "Effect": "Allow",
                                "Principal": {"Service": "sns.amazonaws.com"},
                            }
                        )
                    ]
                )
            },
        },
    )

"""Names of everything the AIM stack creates: the architecture reads off this file.

Construct ids become CloudFormation logical-id prefixes; changing one replaces the
resource (and, for the tables and bucket, would orphan retained data), so treat these
as stable identifiers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aim.domain import escalation as _escalation

REPO_ROOT: Final = Path(__file__).resolve().parent.parent

# --- app / context -------------------------------------------------------------------
STACK_ID: Final = "Aim"
STACK_DESCRIPTION: Final = "AIM early-warning system: kiosk ingest, scoring and alerting"
CONTEXT_CONFIG: Final = "config"  # path of the AIM config JSON, relative to the repo root
DEFAULT_CONFIG_PATH: Final = "config/default.json"
CONTEXT_OPERATOR_EMAILS: Final = "operator_emails"  # list (or comma-separated) of operator addresses
CONTEXT_SMS_SPEND_ALARM_USD: Final = "sms_spend_alarm_usd"
DEFAULT_SMS_SPEND_ALARM_USD: Final = 20.0
CONTEXT_NAG: Final = "nag"  # run the cdk-nag packs at synth (default true)
CONTEXT_CODE_ASSET: Final = "code_asset"  # override of the code asset directory (tests)
CONTEXT_LAYER_ASSET: Final = "layer_asset"  # override of the layer asset directory (tests)

# --- assets and handlers ----------------------------------------------------------------
CODE_ASSET_DIR: Final = ".build/code"  # functions/ and aim/ at its root (make build)
LAYER_ASSET_DIR: Final = ".build/layer"  # python/ at its root (make build)
TRANSFORM_HANDLER: Final = "functions.transform.handler.handler"
SCORE_HANDLER: Final = "functions.score.handler.handler"
ESCALATE_HANDLER: Final = "functions.escalate.handler.handler"
DIGEST_HANDLER: Final = "functions.digest.handler.handler"

# --- construct ids (one per capability) -------------------------------------------------
STORAGE: Final = "Storage"
ALERTING: Final = "Alerting"
INGEST: Final = "Ingest"
SCORING: Final = "Scoring"
OPERATIONS: Final = "Operations"
KIOSK_ACCESS: Final = "KioskAccess"
STAFF: Final = "Staff"  # board pages, staff API, user pool, case and audit tables
ESCALATION: Final = "Escalation"  # re-publishes reds nobody has acknowledged
DIGEST: Final = "Digest"  # the weekly digest to governors

# --- resource ids -----------------------------------------------------------------------
ACTIVITY_TABLE: Final = "ActivityTable"
STATE_TABLE: Final = "StateTable"
INGEST_BUCKET: Final = "IngestBucket"
ACCESS_LOG_BUCKET: Final = "AccessLogBucket"
INGEST_QUEUE: Final = "IngestQueue"
INGEST_DLQ: Final = "IngestDLQ"
TRANSFORM_FUNCTION: Final = "Transform"
SCORE_FUNCTION: Final = "Score"
SCORE_DLQ: Final = "ScoreDLQ"
SCHEDULER_ROLE: Final = "SchedulerRole"
SCHEDULE_PREFIX: Final = "ScoreSchedule"  # + establishment code, e.g. ScoreScheduleLEI
ESCALATE_FUNCTION: Final = "Escalate"
ESCALATE_DLQ: Final = "EscalateDLQ"
ESCALATION_SCHEDULER_ROLE: Final = "EscalationSchedulerRole"
ESCALATION_SCHEDULE_PREFIX: Final = "EscalationSchedule"  # + establishment code
DIGEST_FUNCTION: Final = "Digest"
DIGEST_DLQ: Final = "DigestDLQ"
DIGEST_SCHEDULER_ROLE: Final = "DigestSchedulerRole"
DIGEST_SCHEDULE_PREFIX: Final = "DigestSchedule"  # + establishment code
DEPENDENCY_LAYER: Final = "DependencyLayer"
ALERT_TOPIC: Final = "AlertTopic"
ALERT_DLQ: Final = "AlertDeliveryDLQ"
OPERATOR_TOPIC: Final = "OperatorTopic"
LOGS_KEY: Final = "LogsKey"
KIOSK_UPLOADER_ROLE: Final = "KioskUploaderRole"
KIOSK_UPLOAD_POLICY_PREFIX: Final = "KioskUploadPolicy"  # + establishment code
DASHBOARD: Final = "Dashboard"
ALERT_ID_KEY_SECRET: Final = "AlertIdKey"
ALERT_ID_KEY_LENGTH: Final = 64

# --- S3 key layout ----------------------------------------------------------------------
INCOMING_PREFIX: Final = "incoming/"
REPORTS_PREFIX: Final = "reports/"
QUARANTINE_PREFIX: Final = "quarantine/"
UPLOAD_SUFFIXES: Final = (".jsonl", ".jsonl.gz")
ACCESS_LOG_PREFIX: Final = "ingest-bucket/"

# --- DynamoDB ---------------------------------------------------------------------------
PARTITION_KEY: Final = "pk"
SORT_KEY: Final = "sk"
TTL_ATTRIBUTE: Final = "expires_at"

# --- Lambda environment variables (docs/design.md) -------------------------------------
ENV_ACTIVITY_TABLE: Final = "ACTIVITY_TABLE"
ENV_STATE_TABLE: Final = "STATE_TABLE"
ENV_INGEST_BUCKET: Final = "INGEST_BUCKET"
ENV_ALERT_TOPIC_ARN: Final = "ALERT_TOPIC_ARN"
ENV_AIM_CONFIG: Final = "AIM_CONFIG"
# The scorer only: ARN of the secret keying alert ids.
ENV_ALERT_ID_KEY_SECRET_ARN: Final = "ALERT_ID_KEY_SECRET_ARN"
ENV_POWERTOOLS_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
ENV_POWERTOOLS_METRICS_NAMESPACE: Final = "POWERTOOLS_METRICS_NAMESPACE"
ENV_LOG_LEVEL: Final = "LOG_LEVEL"
SERVICE_NAME: Final = "aim"
METRICS_NAMESPACE: Final = "AIM"
LOG_LEVEL: Final = "INFO"

# --- sizing -----------------------------------------------------------------------------
TRANSFORM_TIMEOUT_SECONDS: Final = 120
TRANSFORM_MEMORY_MB: Final = 1024
SCORE_TIMEOUT_SECONDS: Final = 300
SCORE_MEMORY_MB: Final = 1769  # one full vCPU for the numpy baseline maths
ESCALATE_TIMEOUT_SECONDS: Final = 60
ESCALATE_MEMORY_MB: Final = 256
ESCALATION_SCHEDULE_MINUTES: Final = _escalation.SCHEDULE_MINUTES
DIGEST_TIMEOUT_SECONDS: Final = 60
DIGEST_MEMORY_MB: Final = 256
# A weekly digest that could not go out within this window is dead-lettered (the alarm tells an operator).
DIGEST_MAX_EVENT_AGE_SECONDS: Final = 6 * 3600
# AWS guidance for SQS event sources: visibility timeout >= 6x the function timeout.
INGEST_VISIBILITY_TIMEOUT_SECONDS: Final = 6 * TRANSFORM_TIMEOUT_SECONDS
INGEST_BATCH_SIZE: Final = 10
INGEST_MAX_BATCHING_WINDOW_SECONDS: Final = 5
INGEST_MAX_CONCURRENCY: Final = 10
INGEST_MAX_RECEIVE_COUNT: Final = 5
DLQ_RETENTION_DAYS: Final = 14
SCHEDULE_MAX_RETRIES: Final = 2
ACCESS_LOG_RETENTION_DAYS: Final = 400
ALERT_MESSAGE_ATTRIBUTES: Final = ("establishment", "level", "kind")

# --- who gets what: SNS subscription filter policies on the ``kind`` message attribute -----------
# The values are those the functions set (aim.domain.alerts, escalation, digest).
OFFICER_FILTER_POLICY: Final = {"kind": ["alert", "escalation"]}  # alert_emails
GOVERNOR_FILTER_POLICY: Final = {"kind": ["escalation", "digest"]}  # governor_emails

"""Staff: the board pages and staff API (contract section 4) behind a REST API with AWS WAF,
a Cognito user pool with one group per establishment and role, the CaseTable (alert
lifecycle) and the append-only AuditTable, and alarms on server errors and failed sign-ins.

The function reads the scorer's StateTable, writes cases only over the version it read, and
may only put and read audit entries: no UpdateItem, DeleteItem or BatchWriteItem on the audit
trail, so the API cannot change or remove what it recorded. A change to a case and its audit
entry are one TransactWriteItems, authorised as PutItem on each of the two tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from aim.config import SignIn
from aws_cdk import Aws, CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra import constants as c
from infra.constructs.common import data_key, grant_table
from infra.constructs.function import LOG_RETENTION, AimFunction, FunctionRuntime
from infra.constructs.storage import Storage, data_table

ROLES = ("officer", "governor", "admin")
HANDLER = "functions.api.handler.handler"
STAGE = "prod"
API_TIMEOUT_SECONDS = 15
API_MEMORY_MB = 1024
AUDIT_RETENTION_DAYS = 2555  # seven years
SIGN_IN_RATE_LIMIT = 100  # requests per 5 minutes per client address to /sign-in
THROTTLE_RATE = 50
THROTTLE_BURST = 100


class Staff(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: FunctionRuntime,
        storage: Storage,
        establishments: Sequence[str],
        alarm_topic: sns.ITopic | None = None,
        audit_retention_days: int = AUDIT_RETENTION_DAYS,
        sign_in: SignIn | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        # --- tables ---------------------------------------------------------------------------
        self.case_key = data_key(self, "CaseTableKey", "CaseTable encryption (alert lifecycle)")
        self.audit_key = data_key(self, "AuditTableKey", "AuditTable encryption (staff audit trail)")
        self.case_table = data_table(self, "CaseTable", self.case_key, ttl=False)
        self.audit_table = data_table(self, "AuditTable", self.audit_key, ttl=True)

        # --- sign-in --------------------------------------------------------------------------
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=None,
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True),
            sign_in_case_sensitive=False,
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.NONE,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.client = self.user_pool.add_client(
            "BoardClient",
            auth_flows=cognito.AuthFlow(user_password=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(8),
            enable_token_revocation=True,
        )
        self.groups: dict[str, cognito.CfnUserPoolGroup] = {}
        for est in establishments:
            for role_name in ROLES:
                name = f"{est}-{role_name}"
                self.groups[name] = cognito.CfnUserPoolGroup(
                    self,
                    f"Group{est}{role_name.capitalize()}",
                    user_pool_id=self.user_pool.user_pool_id,
                    group_name=name,
                    description=f"AIM {role_name}s of {est}",
                )
        issuer = f"https://cognito-idp.{Aws.REGION}.amazonaws.com/{self.user_pool.user_pool_id}"

        # --- function -------------------------------------------------------------------------
        self.api_function = AimFunction(
            self,
            "Api",
            runtime=runtime,
            handler=HANDLER,
            description="AIM staff API and board pages",
            timeout=Duration.seconds(API_TIMEOUT_SECONDS),
            memory_size=API_MEMORY_MB,
        )
        fn = self.api_function.function
        for name, value in {
            "CASE_TABLE": self.case_table.table_name,
            "AUDIT_TABLE": self.audit_table.table_name,
            "AUDIT_RETENTION_DAYS": str(audit_retention_days),
            "SIGN_IN_CLIENT_ID": self.client.user_pool_client_id,
            **_oidc_environment(sign_in, issuer, self.client.user_pool_client_id),
        }.items():
            fn.add_environment(name, value)
        role = self.api_function.role
        grant_table(
            role, storage.state_table, storage.state_key, "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"
        )
        grant_table(
            role, self.case_table, self.case_key, "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem"
        )
        # Append-only: put (the code adds attribute_not_exists) and read; never update or delete.
        grant_table(role, self.audit_table, self.audit_key, "dynamodb:PutItem", "dynamodb:Query")
        role.add_to_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQL*"],
                resources=[self.audit_table.table_arn],
            )
        )

        # --- API ------------------------------------------------------------------------------
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=LOG_RETENTION,
            encryption_key=runtime.logs_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.api = apigw.LambdaRestApi(
            self,
            "RestApi",
            handler=fn,
            proxy=True,
            description="AIM staff API and board pages",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=["*/*"],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                throttling_rate_limit=THROTTLE_RATE,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
            ),
        )
        self.web_acl = self._web_acl()
        # WAF requires the aws-waf-logs- prefix; tokens and session cookies are redacted.
        self.waf_logs = logs.LogGroup(
            self,
            "WafLogs",
            log_group_name=f"aws-waf-logs-aim-staff-{Aws.STACK_NAME}",
            retention=LOG_RETENTION,
            encryption_key=runtime.logs_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[self.waf_logs.log_group_arn],
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "authorization"}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": "cookie"}),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

        # --- alarms ---------------------------------------------------------------------------
        server_errors = cloudwatch.Alarm(
            self,
            "ServerErrorsAlarm",
            alarm_description="AIM staff API answered 5xx: staff cannot work alerts",
            metric=self.api.metric_server_error(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        sign_in_failures = cloudwatch.Alarm(
            self,
            "SignInFailuresAlarm",
            alarm_description="Many failed sign-ins to the AIM board: password guessing?",
            metric=cloudwatch.Metric(
                namespace=c.METRICS_NAMESPACE,
                metric_name="SignInFailed",
                dimensions_map={"service": c.SERVICE_NAME},
                period=Duration.minutes(5),
                statistic="Sum",
            ),
            threshold=20,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarms = [server_errors, sign_in_failures]
        if alarm_topic is not None:
            for alarm in self.alarms:
                alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))
                alarm.add_ok_action(cw_actions.SnsAction(alarm_topic))

        CfnOutput(self, "BoardUrl", value=self.api.url)
        CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        CfnOutput(self, "BoardClientId", value=self.client.user_pool_client_id)
        CfnOutput(self, "CaseTableName", value=self.case_table.table_name)
        CfnOutput(self, "AuditTableName", value=self.audit_table.table_name)

        from infra.staff_nag import acknowledge_staff_findings

        acknowledge_staff_findings(self)

    # --- helpers --------------------------------------------------------------------------------
    def _web_acl(self) -> wafv2.CfnWebACL:
        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                    cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
                ),
            )

        sign_in_rate = wafv2.CfnWebACL.RuleProperty(
            name="SignInRateLimit",
            priority=0,
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=SIGN_IN_RATE_LIMIT,
                    aggregate_key_type="IP",
                    scope_down_statement=wafv2.CfnWebACL.StatementProperty(
                        byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(uri_path={}),
                            positional_constraint="ENDS_WITH",
                            search_string="/sign-in",
                            text_transformations=[
                                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="LOWERCASE")
                            ],
                        )
                    ),
                )
            ),
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name="SignInRateLimit", sampled_requests_enabled=True
            ),
        )
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name="AimStaffWebAcl", sampled_requests_enabled=True
            ),
            rules=[
                sign_in_rate,
                managed("AWSManagedRulesAmazonIpReputationList", 1),
                managed("AWSManagedRulesCommonRuleSet", 2),
                managed("AWSManagedRulesKnownBadInputsRuleSet", 3),
            ],
        )


def _oidc_environment(sign_in: SignIn | None, cognito_issuer: str, cognito_client_id: str) -> dict[str, str]:
    """Where the staff function verifies tokens: the configured issuer, else the stack's user pool."""
    if sign_in is None:
        return {"OIDC_ISSUER": cognito_issuer, "OIDC_AUDIENCE": cognito_client_id}
    return {
        "OIDC_ISSUER": sign_in.issuer,
        "OIDC_AUDIENCE": sign_in.audience,
        "OIDC_JWKS_URL": sign_in.jwks_url,
        "OIDC_AUDIENCE_CLAIM": sign_in.audience_claim,
        "OIDC_USERNAME_CLAIM": sign_in.username_claim,
        "OIDC_GROUPS_CLAIM": sign_in.groups_claim,
        "OIDC_TOKEN_USE": sign_in.token_use,
    }

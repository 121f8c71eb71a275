"""A Lambda function the AIM way: Python 3.13 x86_64, shared code asset and dependency layer,
its own role with exact permissions, an encrypted log group with retention, X-Ray tracing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge_function

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.X86_64
LOG_RETENTION = logs.RetentionDays.ONE_YEAR


@dataclass(frozen=True)
class FunctionRuntime:
    """What every AIM function shares: code, dependency layer, environment, log key."""

    code: lambda_.Code
    layer: lambda_.ILayerVersion
    environment: Mapping[str, str]
    logs_key: kms.IKey


class AimFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        runtime: FunctionRuntime,
        handler: str,
        description: str,
        timeout: Duration,
        memory_size: int,
        dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=LOG_RETENTION,
            encryption_key=runtime.logs_key,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"AIM {construct_id} function",
        )
        # Instead of the AWSLambdaBasicExecutionRole managed policy (logs:* on every group).
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=runtime.code,
            handler=handler,
            layers=[runtime.layer],
            description=description,
            timeout=timeout,
            memory_size=memory_size,
            environment=dict(runtime.environment),
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            dead_letter_queue=dead_letter_queue,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )
        acknowledge_function(self.function, self.role)

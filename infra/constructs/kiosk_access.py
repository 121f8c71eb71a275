"""Kiosk access: the only way to put data into AIM is PutObject of a new key under
`incoming/<EST>/`, for the caller's own establishment, never overwriting an object."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra import constants as c
from infra.constructs.common import key_use
from infra.nag import acknowledge, bucket_prefix_finding

ESTABLISHMENT_TAG = "establishment"
# S3 conditional writes: with this condition a PutObject is allowed only with
# `If-None-Match: *`, so a kiosk can create objects but never replace one.
NO_OVERWRITE = {"StringEquals": {"s3:if-none-match": "*"}}


def upload_statements(bucket: s3.IBucket, key_pattern: str) -> list[iam.PolicyStatement]:
    """PutObject (create-only) on `incoming/<key_pattern>/*` plus the bucket key use it needs."""
    statements = [
        iam.PolicyStatement(
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{c.INCOMING_PREFIX}{key_pattern}/*")],
            conditions=NO_OVERWRITE,
        )
    ]
    if bucket.encryption_key is not None:
        statements.append(key_use(bucket.encryption_key, "s3", "kms:GenerateDataKey"))
    return statements


class KioskAccess(Construct):
    """KioskUploaderRole (attribute-based: the session tag `establishment` picks the prefix)
    and one managed policy per establishment for identities that upload for one prison."""

    def __init__(
        self, scope: Construct, construct_id: str, *, bucket: s3.IBucket, establishments: Sequence[str]
    ) -> None:
        super().__init__(scope, construct_id)
        # Trusts this account, and only sessions tagged with a configured establishment; who
        # may assume it (and with which tag value) is then decided by IAM policies in the account.
        session_tag = {
            "StringEquals": {f"aws:RequestTag/{ESTABLISHMENT_TAG}": list(establishments)},
            "ForAllValues:StringEquals": {"aws:TagKeys": [ESTABLISHMENT_TAG]},
        }
        self.uploader_role = iam.Role(
            self,
            c.KIOSK_UPLOADER_ROLE,
            assumed_by=iam.AccountRootPrincipal().with_conditions(session_tag).with_session_tags(),
            description="AIM kiosk uploader: PutObject (no overwrite) under incoming/<session tag establishment>/",
        )
        self.uploader_policy = iam.ManagedPolicy(
            self,
            f"{c.KIOSK_UPLOADER_ROLE}Policy",
            description="AIM: kiosk uploads for the establishment in the session tag (create-only)",
            statements=upload_statements(bucket, f"${{aws:PrincipalTag/{ESTABLISHMENT_TAG}}}"),
            roles=[self.uploader_role],
        )
        acknowledge(
            self.uploader_policy,
            bucket_prefix_finding(bucket, f"incoming/<aws:PrincipalTag/{ESTABLISHMENT_TAG}>/*"),
            "Object keys are the caller's own establishment prefix (session tag, restricted to the "
            "configured establishments by the trust policy); create-only via s3:if-none-match",
        )

        self.policies: dict[str, iam.ManagedPolicy] = {}
        for establishment in establishments:
            self.policies[establishment] = iam.ManagedPolicy(
                self,
                f"{c.KIOSK_UPLOAD_POLICY_PREFIX}{establishment}",
                description=f"AIM: kiosk uploads for {establishment} (create-only, incoming/{establishment}/)",
                statements=upload_statements(bucket, establishment),
            )
            acknowledge(
                self.policies[establishment],
                bucket_prefix_finding(bucket, f"incoming/{establishment}/*"),
                f"Object keys under one establishment's upload prefix ({establishment}); create-only via "
                "s3:if-none-match",
            )

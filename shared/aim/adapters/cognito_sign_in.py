"""The board page's sign-in: a user name and password exchanged for tokens at the Cognito user pool."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from aim.adapters.aws import client as aws_client


class SignInFailedError(Exception):
    """Wrong user name or password, or the user cannot sign in this way."""


class CognitoPasswordSignIn:
    def __init__(self, client_id: str, client: Any | None = None) -> None:
        self.client_id = client_id
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws_client("cognito-idp")
        return self._client

    def access_token(self, username: str, password: str) -> str:
        try:
            response = self.client.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except ClientError as exc:
            raise SignInFailedError(exc.response.get("Error", {}).get("Code", "error")) from exc
        result = response.get("AuthenticationResult") or {}
        token = result.get("AccessToken")
        if not token:  # a challenge (new password, MFA) the page does not handle
            raise SignInFailedError(response.get("ChallengeName", "challenge"))
        return str(token)


__all__ = ["CognitoPasswordSignIn", "SignInFailedError"]

"""Who is asking, and what they may see and do.

A signed-in user has a role per establishment on their caseload, read from group names
such as ``LEI-officer`` or ``MDI-governor`` (one group per establishment and role). Staff
of one prison never see another's people: every establishment, prisoner and alert route
checks the caseload first, and anything outside it is answered as if it did not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["officer", "governor", "admin"]
ROLES: tuple[Role, ...] = ("officer", "governor", "admin")
_GROUP = re.compile(r"^(?P<est>[A-Z]{3})-(?P<role>officer|governor|admin)$")
_RANK = {"officer": 1, "governor": 2, "admin": 3}


class AccessDeniedError(Exception):
    """The caller may see the thing but not do this to it (a governor acknowledging, say)."""


class NotOnCaseloadError(Exception):
    """Outside the caller's caseload: answered as not found, with nothing of it in the body."""


@dataclass(frozen=True)
class Principal:
    user: str
    roles: dict[str, Role] = field(default_factory=dict)  # establishment -> role there

    @classmethod
    def from_groups(cls, user: str, groups: Iterable[str]) -> Principal:
        """Roles from group names; several groups for one establishment give the highest role."""
        roles: dict[str, Role] = {}
        for group in groups:
            match = _GROUP.match(str(group).strip())
            if not match:
                continue
            est, role = match["est"], match["role"]
            current = roles.get(est)
            if current is None or _RANK[role] > _RANK[current]:
                roles[est] = role  # type: ignore[assignment]
        return cls(user, roles)

    @property
    def caseload(self) -> list[str]:
        return sorted(self.roles)

    def role_at(self, establishment: str) -> Role:
        role = self.roles.get(establishment)
        if role is None:
            raise NotOnCaseloadError(establishment)
        return role

    def can_see(self, establishment: str) -> None:
        self.role_at(establishment)

    def can_act(self, establishment: str) -> None:
        """Officers and admins work alerts; governors read."""
        if self.role_at(establishment) == "governor":
            raise AccessDeniedError("governors have read-only access to alerts")

    def can_oversee(self, establishment: str) -> None:
        """Outcomes and the audit trail: governors and admins."""
        if self.role_at(establishment) == "officer":
            raise AccessDeniedError("outcomes and the audit trail are for governors")


__all__ = ["ROLES", "AccessDeniedError", "NotOnCaseloadError", "Principal", "Role"]

"""Who may do what in the review UI.

Three roles, each including the one below it:

- viewer: reads conversations (phones masked), the NLU inbox, leads (CSV masked), integrations;
- operator: also takes over and writes to leads, tags, reviews, flags, saves filters,
  judges the NLU inbox, retries integration deliveries;
- admin: also exports training data and test stories, full phones (CSV and pages'
  phone numbers are audited), manages users and reads the audit log.

Every handler declares its role with `@allow(...)` (or `@public`); the login gate in
review/web.py refuses a route without a declaration, so a new route is closed until
someone decides who may use it.
"""
from __future__ import annotations

from enum import Enum
from typing import Any, Callable, Optional, TypeVar

__all__ = ["PUBLIC", "ROLE_ATTRIBUTE", "Role", "allow", "public", "required_role"]

F = TypeVar("F", bound=Callable[..., Any])

ROLE_ATTRIBUTE = "review_role"
PUBLIC = "public"


class Role(str, Enum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self)

    def covers(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    @property
    def label(self) -> str:
        return {"viewer": "leitura", "operator": "operador", "admin": "administrador"}[self.value]

    @classmethod
    def parse(cls, raw: object) -> Optional[Role]:
        try:
            return cls(str(raw))
        except ValueError:
            return None


ROLE_ORDER = (Role.VIEWER, Role.OPERATOR, Role.ADMIN)


def allow(role: Role) -> Callable[[F], F]:
    """The least role a handler needs (placed under the route decorator)."""
    def mark(handler: F) -> F:
        setattr(handler, ROLE_ATTRIBUTE, role)
        return handler
    return mark


def public(handler: F) -> F:
    """A handler anyone reaches, logged in or not (login, health check)."""
    setattr(handler, ROLE_ATTRIBUTE, PUBLIC)
    return handler


def required_role(handler: Any) -> Any:
    """Role, PUBLIC, or None for a handler nobody declared (refused to all)."""
    return getattr(handler, ROLE_ATTRIBUTE, None)

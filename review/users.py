"""Review UI accounts, kept in Redis under `<prefix>:review:users` (one JSON per name).

An account has a role (review/roles.py), an Argon2id password hash (review/passwords.py)
and an `active` flag: accounts are disabled, never deleted, so that the audit log's names
keep meaning someone. Disabling an account or resetting its password ends its sessions
at once (review/auth.py keeps each user's session ids).
"""
from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional

from redis import asyncio as aioredis

from review.passwords import Passwords, password_problem
from review.roles import Role

__all__ = ["FIRST_ADMIN", "User", "UserError", "Users", "clean_name"]

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
# The account REVIEW_TOKEN creates on a first run (README: "Reviewing conversations").
FIRST_ADMIN = "admin"


class UserError(ValueError):
    """A refused account change; the message is for the person (pt-BR)."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str
    active: bool = True
    created: float = 0.0
    changed: float = 0.0

    def as_json(self) -> str:
        data = asdict(self)
        data["role"] = self.role.value
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str) -> Optional[User]:
        try:
            data = json.loads(raw)
            role = Role.parse(data.get("role"))
            if role is None:
                return None
            return cls(str(data["name"]), role, str(data["password_hash"]), bool(data.get("active", True)),
                       float(data.get("created") or 0), float(data.get("changed") or 0))
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def public(self) -> Dict[str, object]:
        """What lists show: never the hash."""
        return {"name": self.name, "role": self.role.value, "active": self.active,
                "created": self.created, "changed": self.changed}


def clean_name(raw: str) -> str:
    name = raw.strip().lower()
    if not NAME_PATTERN.match(name):
        raise UserError("nome inválido: 2 a 40 letras minúsculas, dígitos, ponto, hífen ou sublinhado")
    return name


class Users:
    def __init__(self, client: aioredis.Redis, prefix: str, passwords: Passwords) -> None:
        self.redis = client
        self.key = f"{prefix}:review:users"
        self.session_base = f"{prefix}:review"
        self.passwords = passwords

    async def get(self, name: str) -> Optional[User]:
        if not name or len(name) > 40:
            return None
        raw = await self.redis.hget(self.key, name)
        return User.from_json(raw) if raw else None

    async def all(self) -> List[User]:
        found = [User.from_json(raw) for raw in (await self.redis.hgetall(self.key)).values()]
        return sorted((u for u in found if u is not None), key=lambda u: u.name)

    async def count(self) -> int:
        return int(await self.redis.hlen(self.key))

    async def add(self, raw_name: str, role: Role, password: str) -> User:
        name = clean_name(raw_name)
        problem = password_problem(password)
        if problem:
            raise UserError(problem)
        now = time.time()
        user = User(name, role, self.passwords.hash(password), True, now, now)
        # HSETNX: two admins adding the same name at once cannot overwrite each other.
        if not await self.redis.hsetnx(self.key, name, user.as_json()):
            raise UserError(f"já existe uma conta {name}")
        return user

    async def first_admin(self, token: str) -> Optional[User]:
        """First run: with no account at all, the admin `admin` with REVIEW_TOKEN as its
        password (the token's own length rule applies, as before accounts existed)."""
        if await self.count():
            return None
        now = time.time()
        user = User(FIRST_ADMIN, Role.ADMIN, self.passwords.hash(token), True, now, now)
        return user if await self.redis.hsetnx(self.key, FIRST_ADMIN, user.as_json()) else None

    async def disable(self, name: str) -> User:
        user = await self._existing(name)
        changed = User(user.name, user.role, user.password_hash, False, user.created, time.time())
        await self.redis.hset(self.key, name, changed.as_json())
        await self.end_sessions(name)
        return changed

    async def reset(self, name: str, password: str) -> User:
        """A new password; also re-enables a disabled account (the admin decided again)."""
        user = await self._existing(name)
        problem = password_problem(password)
        if problem:
            raise UserError(problem)
        changed = User(user.name, user.role, self.passwords.hash(password), True, user.created, time.time())
        await self.redis.hset(self.key, name, changed.as_json())
        await self.end_sessions(name)
        return changed

    async def authenticate(self, name: str, password: str) -> Optional[User]:
        """The active user with this password, or None (same cost whether the name exists or not)."""
        user = await self.get(name.strip().lower())
        # Argon2 takes tens of milliseconds of CPU: in a thread, so that pages and live
        # updates keep flowing during a login.
        if user is None or not user.active:
            await asyncio.to_thread(self.passwords.verify, self.passwords.dummy, password)
            return None
        if not await asyncio.to_thread(self.passwords.verify, user.password_hash, password):
            return None
        if self.passwords.needs_rehash(user.password_hash):
            new_hash = await asyncio.to_thread(self.passwords.hash, password)
            user = User(user.name, user.role, new_hash, True, user.created, user.changed)
            await self.redis.hset(self.key, user.name, user.as_json())
        return user

    async def end_sessions(self, name: str) -> int:
        """Deletes every session of the user (the set review/auth.py keeps); returns how many."""
        index = f"{self.session_base}:user_sessions:{name}"
        ids = await self.redis.smembers(index)
        if ids:
            await self.redis.delete(*(f"{self.session_base}:session:{i}" for i in ids))
        await self.redis.delete(index)
        return len(ids)

    async def _existing(self, raw_name: str) -> User:
        user = await self.get(raw_name.strip().lower())
        if user is None:
            raise UserError(f"não existe a conta {raw_name}")
        return user

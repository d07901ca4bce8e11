"""Password hashing for review UI accounts: Argon2id through argon2-cffi.

The defaults are RFC 9106's second recommended ("low-memory") profile: 3 passes over
64 MiB with 4 lanes, about 50 ms here. Tests and small machines may lower the cost with
REVIEW_PASSWORD_HASH_MEMORY_KIB and REVIEW_PASSWORD_HASH_TIME_COST; a hash keeps the
parameters it was made with, and a login re-hashes it when they differ from today's.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from sdr.env import number

__all__ = ["HashCost", "MIN_PASSWORD_CHARS", "Passwords"]

# Short passwords are guessed offline however memory-hard the hash.
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256


@dataclass(frozen=True)
class HashCost:
    memory_kib: int = RFC_9106_LOW_MEMORY.memory_cost
    time_cost: int = RFC_9106_LOW_MEMORY.time_cost

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> HashCost:
        return cls(
            memory_kib=int(number(env, "REVIEW_PASSWORD_HASH_MEMORY_KIB", RFC_9106_LOW_MEMORY.memory_cost,
                                  minimum=64, integer=True)),
            time_cost=int(number(env, "REVIEW_PASSWORD_HASH_TIME_COST", RFC_9106_LOW_MEMORY.time_cost,
                                 minimum=1, integer=True)),
        )


class Passwords:
    def __init__(self, cost: HashCost) -> None:
        self.hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                                     parallelism=RFC_9106_LOW_MEMORY.parallelism,
                                     hash_len=RFC_9106_LOW_MEMORY.hash_len, salt_len=RFC_9106_LOW_MEMORY.salt_len)
        # Verified when the user name is unknown, so that a wrong name costs as long as a
        # wrong password (no user enumeration by timing).
        self.dummy = self.hasher.hash("no such user: the timing stays the same")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self.hasher.verify(stored, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return bool(self.hasher.check_needs_rehash(stored))
        except (InvalidHashError, ValueError):
            return True


def password_problem(password: str) -> str | None:
    """Why a new password is refused (pt-BR, shown to the admin), or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"a senha precisa de pelo menos {MIN_PASSWORD_CHARS} caracteres"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"a senha pode ter no máximo {MAX_PASSWORD_CHARS} caracteres"
    return None

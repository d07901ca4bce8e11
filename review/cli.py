"""`python -m review users …`: the review UI's accounts from a shell.

    python -m review users add NAME --role admin|operator|viewer [--password-stdin]
    python -m review users list
    python -m review users disable NAME
    python -m review users reset NAME [--password-stdin]

The password comes from a prompt (asked twice) or, with --password-stdin, from the first
line of standard input (for scripts: never on the command line, where `ps` shows it).
Disabling and resetting end the account's sessions at once. Each change goes to the
audit trail as done by `cli:<operating-system user>`. `users list` exits 1 when there is
no account yet (scripts/run-stack.sh asks it whether to start the UI).
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from typing import List, Optional, TextIO

from redis import RedisError

from review.audit import AuditLog
from review.passwords import Passwords
from review.roles import Role
from review.settings import ConfigError, ReviewSettings
from review.users import UserError, Users

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m review users", description="Contas do painel de revisão.")
    commands = top.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="cria uma conta")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--password-stdin", action="store_true", help="lê a senha da primeira linha da entrada")
    commands.add_parser("list", help="lista as contas (sai com 1 se não houver nenhuma)")
    disable = commands.add_parser("disable", help="desativa a conta e encerra as sessões dela")
    disable.add_argument("name")
    reset = commands.add_parser("reset", help="define uma nova senha (e reativa a conta); encerra as sessões")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="lê a senha da primeira linha da entrada")
    return top


def read_password(from_stdin: bool, stdin: TextIO) -> Optional[str]:
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Senha: ")
    if getpass.getpass("Repita a senha: ") != first:
        print("error: as senhas não conferem", file=sys.stderr)
        return None
    return first


def operator_name() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


async def run(args: argparse.Namespace, settings: ReviewSettings, stdin: TextIO) -> int:
    client = settings.redis.async_client(timeout_s=10.0)
    try:
        users = Users(client, settings.key_prefix, Passwords(settings.password_cost))
        log = AuditLog(client, settings.key_prefix, settings.audit_retention_days)
        who = operator_name()
        if args.command == "list":
            accounts = await users.all()
            for user in accounts:
                state = "ativa" if user.active else "desativada"
                changed = time.strftime("%Y-%m-%d %H:%M", time.localtime(user.changed))
                print(f"{user.name:<24} {user.role.value:<9} {state:<11} {changed}")
            if not accounts:
                print("nenhuma conta (crie com: python -m review users add NOME --role admin)", file=sys.stderr)
            return 0 if accounts else 1
        if args.command == "disable":
            user = await users.disable(args.name)
            await log.record(who, "cli", "user_disabled", "", user.name)
            print(f"conta {user.name} desativada; sessões encerradas")
            return 0
        password = read_password(args.password_stdin, stdin)
        if password is None:
            return 2
        if args.command == "add":
            user = await users.add(args.name, Role(args.role), password)
            await log.record(who, "cli", "user_added", "", f"{user.name} ({user.role.value})")
            print(f"conta {user.name} criada ({user.role.value})")
        else:
            user = await users.reset(args.name, password)
            await log.record(who, "cli", "user_reset", "", user.name)
            print(f"senha de {user.name} redefinida; sessões encerradas")
        return 0
    finally:
        await client.close()


def main(argv: List[str], stdin: TextIO = sys.stdin) -> int:
    args = parser().parse_args(argv)
    try:
        settings = ReviewSettings.from_env()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(args, settings, stdin))
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RedisError as error:
        print(f"error: Redis ({settings.redis.host}:{settings.redis.port}): {type(error).__name__}", file=sys.stderr)
        return 1

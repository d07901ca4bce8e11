"""`python -m crm kommo check` and `python -m crm kommo ids`.

``check`` looks every id of the mapping file up in the Kommo account: the token (by reading the
account), the pipeline ``KOMMO_PIPELINE_ID``, each stage, each lead and contact custom field
(does it exist, and can its type hold our value), each responsible user. It prints one line per
mapped thing (ok / missing / wrong type / not mapped) and exits 0 when every mapped id exists
and suits, 1 when something is missing or wrong or Kommo refuses the token (or cannot be
reached), 2 for a configuration error (the message names the variable or the mapping's key).

``ids`` lists what an installer copies into the mapping file: the pipeline's stages, the lead
and contact custom fields with their types, and the users, each with its id.

The token is never printed.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Optional, TextIO

from crm.events import LeadEventType
from crm.kommo_client import KommoAuthError, KommoClient, KommoError, KommoField, KommoPipeline
from crm.kommo_mapping import FIELD_KINDS, LEAD_FIELD_NAMES, LOST_STATUS_ID, WON_STATUS_ID, KommoMapping
from crm.kommo_settings import KommoSettings
from sdr.env import ConfigError
from sdr.vocabulary import LeadClass, LeadStatus

__all__ = ["SUITABLE_FIELD_TYPES", "main"]

EXIT_OK, EXIT_PROBLEM, EXIT_CONFIG = 0, 1, 2
# Kommo field types that can hold each kind of our values (crm.kommo_payloads writes them).
SUITABLE_FIELD_TYPES: Mapping[str, frozenset[str]] = {
    "number": frozenset({"numeric"}),
    "boolean": frozenset({"checkbox"}),
    "datetime": frozenset({"date_time", "date"}),
    "text": frozenset({"text", "textarea"}),
}
FIXED_STAGES = {WON_STATUS_ID: "won, in every pipeline", LOST_STATUS_ID: "lost, in every pipeline"}
OK, MISSING, NOT_MAPPED = "ok", "missing", "not mapped"

Row = tuple[str, str, str]  # what, Kommo id, result


def stage_rows(mapping: KommoMapping, pipeline: Optional[KommoPipeline]) -> list[Row]:
    def result(stage_id: Optional[int]) -> str:
        if stage_id is None:
            return NOT_MAPPED
        if stage_id in FIXED_STAGES:
            return f"{OK} ({FIXED_STAGES[stage_id]})"
        stage = pipeline.stage(stage_id) if pipeline is not None else None
        return f"{OK} ({stage.name})" if stage is not None else MISSING

    tables = (
        ("event", mapping.events, [e.value for e in LeadEventType]),
        ("status", mapping.statuses, [s.value for s in LeadStatus]),
        ("class", mapping.classes, [c.value for c in LeadClass]),
    )
    rows = [(f"stage for {kind} {name}", _id(table.get(name)), result(table.get(name)))
            for kind, table, names in tables for name in names]
    rows += [("stage in service", str(stage_id), result(stage_id)) for stage_id in sorted(mapping.in_service)]
    return rows


def field_rows(entity: str, mapped: Mapping[str, int], fields: Iterable[KommoField], names: Iterable[str]) -> list[Row]:
    by_id = {f.id: f for f in fields}
    rows = []
    for name in names:
        field_id = mapped.get(name)
        if field_id is None:
            rows.append((f"{entity} field {name}", "-", NOT_MAPPED))
            continue
        found = by_id.get(field_id)
        needs = SUITABLE_FIELD_TYPES[FIELD_KINDS[name]]
        if found is None:
            result = MISSING
        elif found.type not in needs:
            result = f"wrong type: {found.type} (needs {' or '.join(sorted(needs))})"
        else:
            result = f"{OK} ({found.type}: {found.name})"
        rows.append((f"{entity} field {name}", str(field_id), result))
    return rows


def user_rows(mapping: KommoMapping, users: Mapping[int, str]) -> list[Row]:
    if not mapping.responsible_user_ids:
        return [("responsible user", "-", "not mapped (the token's user owns new leads)")]
    return [("responsible user", str(user_id), f"{OK} ({users[user_id]})" if user_id in users else MISSING)
            for user_id in mapping.responsible_user_ids]


def _id(value: Optional[int]) -> str:
    return "-" if value is None else str(value)


def _table(rows: list[Row], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for what, kommo_id, result in rows:
        print(f"  {what.ljust(widths[0])}  {kommo_id.rjust(widths[1])}  {result}", file=out)


def _is_problem(result: str) -> bool:
    return result == MISSING or result.startswith("wrong type")


async def check(settings: KommoSettings, mapping: KommoMapping, out: TextIO) -> int:
    assert settings.base_url and settings.access_token and settings.pipeline_id is not None
    async with KommoClient(settings.base_url, settings.access_token) as client:
        account = await client.account()
        print(f"Kommo account {account.get('name', '?')} ({account.get('subdomain', '?')}): token accepted", file=out)
        pipeline = await client.pipeline(settings.pipeline_id)
        pipeline_result = f"{OK} ({pipeline.name})" if pipeline is not None else MISSING
        rows: list[Row] = [("pipeline (KOMMO_PIPELINE_ID)", str(settings.pipeline_id), pipeline_result)]
        rows += stage_rows(mapping, pipeline)
        rows += field_rows("lead", mapping.lead_fields, await client.lead_custom_fields(), LEAD_FIELD_NAMES)
        contact_names = [name for name in LEAD_FIELD_NAMES if name in mapping.contact_fields] or ["city", "state"]
        rows += field_rows("contact", mapping.contact_fields, await client.contact_custom_fields(), contact_names)
        rows += user_rows(mapping, await client.users())
    print(f"Mapping {mapping.source}:", file=out)
    _table(rows, out)
    problems = sum(_is_problem(result) for _, _, result in rows)
    mapped = sum(result != NOT_MAPPED and not result.startswith(NOT_MAPPED) for _, _, result in rows)
    if problems:
        print(f"{problems} of {mapped} mapped ids are missing or of the wrong type", file=out)
        return EXIT_PROBLEM
    print(f"all {mapped} mapped ids exist in Kommo", file=out)
    return EXIT_OK


async def list_ids(settings: KommoSettings, out: TextIO) -> int:
    assert settings.base_url and settings.access_token and settings.pipeline_id is not None
    async with KommoClient(settings.base_url, settings.access_token) as client:
        pipeline = await client.pipeline(settings.pipeline_id)
        if pipeline is None:
            print(f"KOMMO_PIPELINE_ID {settings.pipeline_id}: no such pipeline in the account", file=out)
            return EXIT_PROBLEM
        print(f"Stages of pipeline {pipeline.id} ({pipeline.name}), for stages:", file=out)
        _table([("stage", str(s.id), s.name) for s in pipeline.stages], out)
        for entity, fields in (("lead", await client.lead_custom_fields()),
                               ("contact", await client.contact_custom_fields())):
            print(f"{entity.capitalize()} custom fields, for {entity}_fields:", file=out)
            _table([(f.type, str(f.id), f.name) for f in fields] or [("(none)", "", "")], out)
        print("Users, for responsible_user_ids:", file=out)
        _table([("user", str(i), name) for i, name in (await client.users()).items()] or [("(none)", "", "")], out)
    return EXIT_OK


def _settings(environ: Mapping[str, str]) -> KommoSettings:
    settings = KommoSettings.from_env(environ)
    if not settings.base_url:
        raise ConfigError("KOMMO_BASE_URL is not set (your account's address, https://<subdomain>.kommo.com)")
    if not settings.access_token:
        raise ConfigError("KOMMO_ACCESS_TOKEN is not set (a long-lived token of a private integration)")
    if settings.pipeline_id is None:
        raise ConfigError("KOMMO_PIPELINE_ID is not set (the number in the pipeline's address)")
    return settings


def main(argv: Optional[list[str]] = None, environ: Optional[Mapping[str, str]] = None,
         out: Optional[TextIO] = None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m crm", description="Lead sync tools.")
    systems = parser.add_subparsers(dest="system", required=True)
    kommo = systems.add_parser("kommo", help="Kommo CRM")
    commands = kommo.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="look the token, the pipeline and every id of the mapping up in Kommo")
    commands.add_parser("ids", help="list the pipeline's stages, the custom fields and the users, with ids")
    args = parser.parse_args(argv)
    try:
        settings = _settings(os.environ if environ is None else environ)
        mapping = settings.mapping() if args.command == "check" else None
    except ConfigError as error:
        print(f"configuration error: {error}", file=out)
        return EXIT_CONFIG
    try:
        if mapping is not None:
            return asyncio.run(check(settings, mapping, out))
        return asyncio.run(list_ids(settings, out))
    except KommoAuthError as error:
        print(f"Kommo refused the token (KOMMO_ACCESS_TOKEN): {error}", file=out)
    except KommoError as error:
        print(f"Kommo could not be asked: {error}", file=out)
    return EXIT_PROBLEM

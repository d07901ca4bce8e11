"""Which Kommo ids our stages, fields, users and tags are: ``crm/kommo_mapping.yml`` parsed.

Every account has its own pipeline, stage and field ids, so an installer copies them from
Kommo's settings screens into the mapping file (``KOMMO_MAPPING_FILE``, default the shipped,
empty one). Everything is checked when the file is read, and a mistake raises ``ConfigError``
naming the key (``stages.statuses.atendimento_humanoo: …``): a typo must stop the start, not
silently leave a stage unsynced. ``python -m crm kommo check`` then checks the ids against
the account itself.
"""
from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Optional, TypeVar, Union

import yaml

from crm.events import LeadEventType
from sdr.env import ConfigError
from sdr.vocabulary import LeadClass, LeadStatus

__all__ = [
    "DEFAULT_MAPPING_FILE",
    "FIELD_KINDS",
    "LEAD_FIELD_NAMES",
    "LOST_STATUS_ID",
    "MAPPING_FILE_VARIABLE",
    "NAME_PLACEHOLDERS",
    "TASK_PLACEHOLDERS",
    "WON_STATUS_ID",
    "KommoMapping",
    "KommoTask",
    "load_mapping",
    "mapping_path",
    "parse_mapping",
]

# Kommo's fixed stages, present in every pipeline.
WON_STATUS_ID = 142
LOST_STATUS_ID = 143

MAPPING_FILE_VARIABLE = "KOMMO_MAPPING_FILE"
DEFAULT_MAPPING_FILE = Path(__file__).with_name("kommo_mapping.yml")

# Our fields (the project's slot names) and what kind of value each holds, which decides how it
# is written to Kommo (crm.kommo_payloads) and which Kommo field types can hold it (the check).
FIELD_KINDS: Mapping[str, str] = MappingProxyType({
    "monthly_bill_brl": "number",
    "monthly_kwh": "number",
    "utility": "text",
    "city": "text",
    "state": "text",
    "property_type": "text",
    "roof_type": "text",
    "is_owner": "boolean",
    "is_decision_maker": "boolean",
    "financing_interest": "boolean",
    "timeline": "text",
    "lead_score": "number",
    "lead_class": "text",
    "lead_source": "text",
    "lead_campaign": "text",
    "meeting_at": "datetime",
})
LEAD_FIELD_NAMES = tuple(FIELD_KINDS)

# What the lead name and the task text may use.
NAME_PLACEHOLDERS = frozenset({"customer_name", "city", "state", "utility"})
TASK_PLACEHOLDERS = NAME_PLACEHOLDERS | {"lead_class", "lead_score", "timeline", "meeting_at"}

DEFAULT_LEAD_NAME = "{customer_name} — energia solar"
DEFAULT_LEAD_NAME_FALLBACK = "Lead WhatsApp — energia solar"
DEFAULT_TASK_TYPE_ID = 1  # Kommo's built-in "follow-up" (call) task type
DEFAULT_TASK_DEADLINE_MINUTES = 60
DEFAULT_TASK_TEXT = "Ligar para {customer_name}: lead {lead_class} da assistente do WhatsApp"
MAX_TAGS = 20
_EVENT_NAMES = frozenset(event.value for event in LeadEventType)
_TOP_KEYS = frozenset({"stages", "lead_fields", "contact_fields", "tags", "class_tags",
                       "responsible_user_ids", "task", "lead_name", "lead_name_fallback"})
_STAGE_KEYS = frozenset({"events", "statuses", "classes", "in_service"})
_TASK_KEYS = frozenset({"enabled", "type_id", "deadline_minutes", "text"})
_DIGITS = re.compile(r"\d+")

IdMap = Mapping[str, int]
V = TypeVar("V")


@dataclass(frozen=True)
class KommoTask:
    """The task created for the team when a lead is handed over."""

    type_id: int = DEFAULT_TASK_TYPE_ID
    deadline_minutes: int = DEFAULT_TASK_DEADLINE_MINUTES
    text: str = DEFAULT_TASK_TEXT


@dataclass(frozen=True)
class KommoMapping:
    events: IdMap = field(default_factory=lambda: MappingProxyType({}))
    statuses: IdMap = field(default_factory=lambda: MappingProxyType({}))
    classes: IdMap = field(default_factory=lambda: MappingProxyType({}))
    in_service: frozenset[int] = frozenset()
    lead_fields: IdMap = field(default_factory=lambda: MappingProxyType({}))
    contact_fields: IdMap = field(default_factory=lambda: MappingProxyType({}))
    tags: tuple[str, ...] = ()
    class_tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    responsible_user_ids: tuple[int, ...] = ()
    task: Optional[KommoTask] = KommoTask()
    lead_name: str = DEFAULT_LEAD_NAME
    lead_name_fallback: str = DEFAULT_LEAD_NAME_FALLBACK
    source: str = "<mapping>"

    def stage_for(self, event: str, lead_status: Optional[str], lead_class: Optional[str]) -> Optional[int]:
        """The stage a lead goes to: the event's, else its status's, else its class's; None = stay."""
        for table, key in ((self.events, event), (self.statuses, lead_status), (self.classes, lead_class)):
            if key is not None and key in table:
                return table[key]
        return None

    def responsible_for(self, counter: int) -> Optional[int]:
        """None = the token's user; one id = always that user; several = round-robin on ``counter``."""
        if not self.responsible_user_ids:
            return None
        return self.responsible_user_ids[counter % len(self.responsible_user_ids)]

    def is_in_service(self, status_id: Optional[int]) -> bool:
        """A person of the team is attending a lead in this stage: the assistant keeps quiet."""
        return status_id is not None and status_id in self.in_service

    @property
    def stage_ids(self) -> frozenset[int]:
        """Every stage id the mapping names (for the check against the pipeline)."""
        return frozenset({*self.events.values(), *self.statuses.values(), *self.classes.values(),
                          *self.in_service})


# --------------------------------------------------------------------------- loading


def mapping_path(environ: Mapping[str, str] = os.environ) -> Path:
    raw = (environ.get(MAPPING_FILE_VARIABLE) or "").strip()
    return Path(raw) if raw else DEFAULT_MAPPING_FILE


def load_mapping(path: Union[str, Path, None] = None, environ: Mapping[str, str] = os.environ) -> KommoMapping:
    """The mapping at ``path`` (default: ``KOMMO_MAPPING_FILE`` or the shipped file)."""
    where = Path(path) if path is not None else mapping_path(environ)
    try:
        text = where.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{MAPPING_FILE_VARIABLE}: cannot read {where}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{where}: not valid YAML: {error}") from None
    return parse_mapping(data, source=str(where))


def parse_mapping(data: Any, source: str = "<mapping>") -> KommoMapping:
    """A ``KommoMapping`` from the YAML's data; ConfigError naming the key on any mistake."""
    if data is None:
        data = {}
    top = _section(data, "", source)
    _no_unknown_keys(top, _TOP_KEYS, "", source)
    stages = _section(top.get("stages"), "stages", source)
    _no_unknown_keys(stages, _STAGE_KEYS, "stages", source)
    return KommoMapping(
        events=_id_map(stages.get("events"), "stages.events", _EVENT_NAMES, source),
        statuses=_id_map(stages.get("statuses"), "stages.statuses", {s.value for s in LeadStatus}, source),
        classes=_id_map(stages.get("classes"), "stages.classes", {c.value for c in LeadClass}, source),
        in_service=frozenset(_id_list(stages.get("in_service"), "stages.in_service", source)),
        lead_fields=_id_map(top.get("lead_fields"), "lead_fields", set(LEAD_FIELD_NAMES), source),
        contact_fields=_id_map(top.get("contact_fields"), "contact_fields", set(LEAD_FIELD_NAMES), source),
        tags=_tags(top.get("tags"), source),
        class_tags=_class_tags(top.get("class_tags"), source),
        responsible_user_ids=tuple(_id_list(top.get("responsible_user_ids"), "responsible_user_ids", source)),
        task=_task(top.get("task"), source),
        lead_name=_template(top.get("lead_name", DEFAULT_LEAD_NAME), "lead_name", NAME_PLACEHOLDERS, source),
        lead_name_fallback=_template(
            top.get("lead_name_fallback", DEFAULT_LEAD_NAME_FALLBACK), "lead_name_fallback", frozenset(), source
        ),
        source=source,
    )


def _fail(source: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {message}" if key else f"{source}: {message}")


def _section(value: Any, key: str, source: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(source, key, "must be a mapping (key: value lines)")
    return value


def _no_unknown_keys(section: Mapping[str, Any], known: frozenset[str], key: str, source: str) -> None:
    for name in section:
        if name not in known:
            where = f"{key}.{name}" if key else str(name)
            raise _fail(source, where, f"unknown key (known: {', '.join(sorted(known))})")


def _kommo_id(value: Any, key: str, source: str) -> int:
    # YAML gives ints; an id pasted in quotes is fine, a bool (yes/no) or a float is a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _fail(source, key, f"must be a Kommo id (a whole number), got {value!r}")
    if isinstance(value, str) and not _DIGITS.fullmatch(value.strip()):
        raise _fail(source, key, f"must be a Kommo id (a whole number), got {value!r}")
    kommo_id = int(value)
    if kommo_id <= 0:
        raise _fail(source, key, f"must be a positive Kommo id, got {kommo_id}")
    return kommo_id


def _named(value: Any, key: str, names: Any, source: str, read: Callable[[Any, str, str], V],
           what: str = "name") -> Mapping[str, V]:
    """``name: value`` lines; a name must be one of ``names``; a null value = not mapped (dropped)."""
    section = _section(value, key, source)
    found: dict[str, V] = {}
    for name, raw in section.items():
        where = f"{key}.{name}"
        if name not in names:
            raise _fail(source, where, f"unknown {what} (one of: {', '.join(sorted(names))})")
        if raw is not None:
            found[str(name)] = read(raw, where, source)
    return MappingProxyType(found)


def _id_map(value: Any, key: str, names: Any, source: str) -> IdMap:
    return _named(value, key, names, source, _kommo_id)


def _id_list(value: Any, key: str, source: str) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(source, key, "must be a list of Kommo ids ([] for none)")
    ids = [_kommo_id(item, f"{key}[{index}]", source) for index, item in enumerate(value)]
    if len(set(ids)) != len(ids):
        raise _fail(source, key, "lists an id twice")
    return ids


def _tag(value: Any, key: str, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, key, f"must be a tag name (text), got {value!r}")
    return value.strip()


def _tags(value: Any, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(source, "tags", "must be a list of tag names ([] for none)")
    if len(value) > MAX_TAGS:
        raise _fail(source, "tags", f"at most {MAX_TAGS} tags")
    return tuple(dict.fromkeys(_tag(item, f"tags[{index}]", source) for index, item in enumerate(value)))


def _class_tags(value: Any, source: str) -> Mapping[str, str]:
    return _named(value, "class_tags", {c.value for c in LeadClass}, source, _tag, what="lead class")


def _whole_number(value: Any, key: str, minimum: int, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(source, key, f"must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def _task(value: Any, source: str) -> Optional[KommoTask]:
    if value is False:
        return None
    section = _section(value, "task", source)
    _no_unknown_keys(section, _TASK_KEYS, "task", source)
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(source, "task.enabled", f"must be true or false, got {enabled!r}")
    if not enabled:
        return None
    return KommoTask(
        type_id=_kommo_id(section.get("type_id", DEFAULT_TASK_TYPE_ID), "task.type_id", source),
        deadline_minutes=_whole_number(
            section.get("deadline_minutes", DEFAULT_TASK_DEADLINE_MINUTES), "task.deadline_minutes", 1, source
        ),
        text=_template(section.get("text", DEFAULT_TASK_TEXT), "task.text", TASK_PLACEHOLDERS, source),
    )


def _template(value: Any, key: str, allowed: frozenset[str], source: str) -> str:
    """Text with ``{placeholder}``s, each one we can fill (checked now, not at the first lead)."""
    if not isinstance(value, str) or not value.strip():
        raise _fail(source, key, f"must be a text, got {value!r}")
    try:
        parts = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(value)
                 if name is not None]
    except ValueError as error:
        raise _fail(source, key, f"bad braces: {error}") from None
    if any(spec or conversion for _, spec, conversion in parts):
        # Values are filled in already formatted (pt-BR numbers and dates): no format specs.
        raise _fail(source, key, "placeholders take no format (write {name}, not {name:…} or {name!r})")
    names = {name for name, _, _ in parts}
    unknown = sorted(name or "{}" for name in names if name not in allowed)
    if unknown:
        usable = ", ".join("{" + name + "}" for name in sorted(allowed)) or "none"
        raise _fail(source, key, f"unknown placeholder {', '.join(unknown)} (usable: {usable})")
    return value.strip()

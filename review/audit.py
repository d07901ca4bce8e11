"""The audit trail (LGPD: who saw or changed which lead's data, and when).

One Redis stream, `<prefix>:review:audit`, appended to and never edited: each entry holds
who (user and role), what (an action from ACTIONS, plus a short detail) and which
conversation (its id: the lead's phone number; admins only read the trail). Redis gives
the time in the entry id. Entries older than REVIEW_AUDIT_RETENTION_DAYS are trimmed as
new ones arrive (XADD MINID), which is the only way an entry leaves.
"""
from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from redis import asyncio as aioredis

__all__ = ["ACTIONS", "AuditEntry", "AuditLog", "AuditQuery", "entries_csv"]

# action → how the admin page says it (pt-BR).
ACTIONS: Dict[str, str] = {
    "login": "entrou",
    "logout": "saiu",
    "takeover": "assumiu a conversa",
    "handback": "devolveu ao assistente",
    "message_sent": "enviou mensagem",
    "review_status": "mudou a revisão",
    "tag_added": "adicionou tag",
    "tag_removed": "removeu tag",
    "flag": "marcou/desmarcou mensagem",
    "filter_saved": "salvou filtro",
    "filter_deleted": "apagou filtro",
    "nlu_verdict": "julgou mensagem (NLU)",
    "nlu_export": "exportou dados de treino",
    "faq_answer": "respondeu pergunta sem resposta",
    "faq_dismiss": "descartou pergunta sem resposta",
    "faq_export": "exportou a base de conhecimento",
    "story_export": "exportou história de teste",
    "phone_view": "viu telefone completo",
    "csv_full_phones": "baixou CSV com telefones",
    "user_added": "criou conta",
    "user_disabled": "desativou conta",
    "user_reset": "redefiniu senha",
    "integrations_retry": "reenfileirou entregas",
    "audit_export": "exportou a auditoria",
}
MAX_DETAIL = 300
SCAN_CHUNK = 1000
# However narrow the filter, one query reads at most this many entries.
MAX_SCANNED = 200_000


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: float
    user: str
    role: str
    action: str
    conversation: str
    detail: str

    @property
    def label(self) -> str:
        return ACTIONS.get(self.action, self.action)


@dataclass(frozen=True)
class AuditQuery:
    since: Optional[float] = None
    until: Optional[float] = None
    user: str = ""
    action: str = ""
    conversation: str = ""

    def keeps(self, entry: AuditEntry) -> bool:
        return ((not self.user or entry.user == self.user) and (not self.action or entry.action == self.action)
                and (not self.conversation or self.conversation in entry.conversation))


class AuditLog:
    def __init__(self, client: aioredis.Redis, prefix: str, retention_days: float) -> None:
        self.redis = client
        self.key = f"{prefix}:review:audit"
        self.retention_s = retention_days * 86400

    async def record(self, user: str, role: str, action: str, conversation: str = "", detail: str = "") -> None:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        oldest_ms = int((time.time() - self.retention_s) * 1000)
        await self.redis.xadd(self.key, {"user": user, "role": role, "action": action,
                                         "conversation": conversation, "detail": detail[:MAX_DETAIL]},
                              minid=f"{oldest_ms}-0", approximate=True)

    async def entries(self, query: AuditQuery, limit: int) -> List[AuditEntry]:
        """Newest first, at most `limit`."""
        found: List[AuditEntry] = []
        top = f"{int(query.until * 1000)}-99999999999" if query.until is not None else "+"
        bottom = f"{int(query.since * 1000)}-0" if query.since is not None else "-"
        scanned = 0
        while len(found) < limit and scanned < MAX_SCANNED:
            page = await self.redis.xrevrange(self.key, max=top, min=bottom, count=SCAN_CHUNK)
            if not page:
                break
            scanned += len(page)
            found.extend(e for e in map(parse, page) if query.keeps(e))
            last = page[-1][0]
            ms, _, seq = last.partition("-")
            # The next page ends just before the last id read.
            top = f"{ms}-{int(seq) - 1}" if int(seq) > 0 else f"{int(ms) - 1}-99999999999"
            if len(page) < SCAN_CHUNK:
                break
        return found[:limit]

    async def users(self) -> List[str]:
        """Names seen in the latest entries, for the filter's choices."""
        page = await self.redis.xrevrange(self.key, count=SCAN_CHUNK)
        return sorted({fields.get("user", "") for _, fields in page} - {""})


def parse(item: Tuple[str, Dict[str, str]]) -> AuditEntry:
    entry_id, fields = item
    return AuditEntry(entry_id, int(entry_id.split("-")[0]) / 1000, fields.get("user", ""), fields.get("role", ""),
                      fields.get("action", ""), fields.get("conversation", ""), fields.get("detail", ""))


def entries_csv(entries: List[AuditEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["quando (UTC)", "usuário", "papel", "ação", "conversa", "detalhe", "id"])
    for e in entries:
        writer.writerow([time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at)), e.user, e.role, e.action,
                         csv_safe(e.conversation), csv_safe(e.detail), e.id])
    return out.getvalue()


def csv_safe(text: str) -> str:
    """A spreadsheet must not run what an operator typed (=, +, -, @ start a formula)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


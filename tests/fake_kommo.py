"""A fake Kommo (API v4) for tests: one account, one pipeline, real HTTP on loopback.

The same design as ``tests/fake_evolution.py``: an aiohttp app in a background thread, driven
and inspected from any thread. It answers the endpoints ``crm.kommo_client`` uses with Kommo's
shapes (docs/kommo-api-v4.md): ``_embedded``/``_links`` collections paged 50 at a time with a
``next`` link, 204 for a search or a lead that finds nothing, the complex-add answer list
(``id``, ``contact_id``, ``company_id``, ``request_id`` as a list, ``merged``), Kommo's problem
bodies for 401 and 404, and 400 ``validation-errors`` for an unknown field id, a stage not in
the pipeline, an unknown user or lead. Contact search (``query``) matches the digits of the
query inside the digits of a contact's PHONE values, as a substring.

    with FakeKommo() as fake:                    # token="test-kommo-token"
        client = KommoClient(fake.url, fake.token)
        ...
        assert fake.leads[0]["status_id"] == fake.FIRST_STAGE

Injection: ``go_down()`` (nginx's 503 page; ``go_down(refuse=True)`` for connection refused)
and ``come_back()``, ``rate_limit_next(n)`` (429 with Kommo's body), ``fail_next(n, status)``.
``post_webhook(url, events)`` sends a lead event the way Kommo does (form-encoded).

Standalone: ``python -m tests.fake_kommo --port 8083`` (Ctrl-C stops).
"""
from __future__ import annotations

import argparse
import copy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Optional, Sequence
from urllib.parse import urlencode

import httpx
from aiohttp import web

from tests.fake_server import DEFAULT_HOST, EPHEMERAL_PORT, BackgroundServer, serve_until_signalled

DEFAULT_TOKEN = "test-kommo-token"
DEFAULT_CLI_PORT = 8083
ACCOUNT_ID = 31257294
SUBDOMAIN = "solarprime"
PAGE_SIZE = 50  # Kommo's custom-field pages
MAX_LIMIT = 250
PIPELINE_ID = 7173574
INCOMING_STAGE, FIRST_STAGE, QUALIFIED_STAGE = 59936190, 59936198, 59936202
MEETING_STAGE, IN_SERVICE_STAGE = 59936206, 59936210
WON, LOST = 142, 143
USERS = {10004026: "Ana Vendas", 10004027: "Bruno Vendas"}
TASK_TYPES = frozenset({1, 2})
# Lead fields of each type a mapping may point at (ids are this fake's own).
LEAD_FIELDS = [
    (1001, "Conta de luz (R$)", "numeric"), (1002, "Consumo (kWh)", "numeric"), (1003, "Distribuidora", "text"),
    (1004, "Cidade", "text"), (1005, "UF", "text"), (1006, "Tipo de imóvel", "text"),
    (1007, "Proprietário", "checkbox"), (1008, "Decisor", "checkbox"), (1009, "Prazo", "text"),
    (1010, "Pontuação", "numeric"), (1011, "Classe", "text"), (1012, "Origem", "text"),
    (1013, "Campanha", "textarea"), (1014, "Reunião", "date_time"), (1015, "Interesse", "select"),
    (1016, "Site", "url"), (1017, "Data", "date"),
]
CONTACT_FIELDS = [
    (2001, "Telefone", "multitext", "PHONE"), (2002, "E-mail", "multitext", "EMAIL"),
    (2003, "Cargo", "text", "POSITION"), (2004, "Cidade", "text", None), (2005, "UF", "text", None),
]
PHONE_ENUMS = {"WORK": 301, "WORKDD": 303, "MOB": 305, "FAX": 307, "HOME": 309, "OTHER": 311}
_REASONS = {400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
            404: "Not Found", 422: "Unprocessable Entity", 429: "Too Many Requests", 500: "ErrInternalServer",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_NGINX_PAGE = ("<html><head><title>{0} {1}</title></head><body><center><h1>{0} {1}</h1></center>"
               "<hr><center>nginx</center></body></html>")
_NON_DIGITS = re.compile(r"\D")
NOT_A_CHOICE = "The value you selected is not a valid choice."


@dataclass
class RecordedRequest:
    """One request as the fake received it (``headers`` lower-case)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    time: float
    status: Optional[int] = None


class Invalid(Exception):
    """A Kommo validation error: (path, code, detail) of the item at ``index``."""

    def __init__(self, index: int, path: str, code: str, detail: str) -> None:
        super().__init__(detail)
        self.index, self.path, self.code, self.detail = index, path, code, detail


def problem(status: int, detail: str, **extra: Any) -> dict[str, Any]:
    return {"title": _REASONS.get(status, "Error"), "type": f"https://httpstatus.es/{status}",
            "status": status, "detail": detail, **extra}


def webhook_body(events: Sequence[Mapping[str, Any]], *, subdomain: str = SUBDOMAIN,
                 account_id: int = ACCOUNT_ID) -> str:
    """Kommo's form body for lead events, each ``{"kind": "status", "id": …, "status_id": …, …}``."""
    pairs: list[tuple[str, str]] = [("account[subdomain]", subdomain), ("account[id]", str(account_id)),
                                    ("account[_links][self]", f"https://{subdomain}.kommo.com")]
    counters: dict[str, int] = {}
    for event in events:
        kind = str(event.get("kind", "status"))
        index = counters[kind] = counters.get(kind, -1) + 1
        for name, value in event.items():
            if name != "kind" and value is not None:
                pairs.append((f"leads[{kind}][{index}][{name}]", str(value)))
    return urlencode(pairs)


class FakeKommo(BackgroundServer):
    """Kommo API v4 on 127.0.0.1 in a background thread. Thread-safe to drive and inspect."""

    name = "fake-kommo"
    FIRST_STAGE = FIRST_STAGE
    PIPELINE_ID = PIPELINE_ID

    def __init__(self, token: str = DEFAULT_TOKEN, *, host: str = DEFAULT_HOST, port: int = EPHEMERAL_PORT) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.page_size = PAGE_SIZE
        self._lock = threading.Lock()
        self._ids = itertools.count(40000001)
        self.reset()

    # ----------------------------------------------------------------- inspection and control

    def reset(self) -> None:
        """Forget requests and data, undo every injection (the token and page size stay)."""
        with self._lock:
            self._requests: list[RecordedRequest] = []
            self._contacts: dict[int, dict[str, Any]] = {}
            self._leads: dict[int, dict[str, Any]] = {}
            self._notes: list[dict[str, Any]] = []
            self._tasks: list[dict[str, Any]] = []
            self._fail: list[tuple[int, dict[str, str]]] = []
            self._down = False

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    @property
    def contacts(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._contacts.values()))

    @property
    def leads(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._leads.values()))

    @property
    def notes(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._notes)

    @property
    def tasks(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._tasks)

    def lead(self, lead_id: int) -> Optional[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._leads.get(lead_id))

    def add_contact(
        self, name: str, phone: str, *, lead_status_id: Optional[int] = FIRST_STAGE
    ) -> tuple[int, Optional[int]]:
        """A contact the account already has (phone as a person typed it), with a lead unless
        ``lead_status_id`` is None; returns (contact id, lead id)."""
        with self._lock:
            contact = self._new_contact({"name": name, "custom_fields_values": [
                {"field_code": "PHONE", "values": [{"value": phone, "enum_code": "WORK"}]}]})
            lead_id = None
            if lead_status_id is not None:
                lead_id = self._new_lead({"name": f"{name} (antigo)", "status_id": lead_status_id})["id"]
                self._link(lead_id, contact["id"])
        return contact["id"], lead_id

    def move_lead(self, lead_id: int, status_id: int) -> None:
        """A person moves the lead in Kommo's interface."""
        with self._lock:
            self._leads[lead_id]["status_id"] = status_id

    def go_down(self, *, refuse: bool = False) -> None:
        """Kommo is down: nginx answers 503 with its HTML page (``refuse``: connection refused)."""
        if refuse:
            super().go_down()
        else:
            with self._lock:
                self._down = True

    def come_back(self) -> None:
        with self._lock:
            self._down = False
        super().come_back()

    def rate_limit_next(self, count: int, *, retry_after: Optional[int] = None) -> None:
        """The next ``count`` requests get 429 with Kommo's body (``retry_after`` also as a header)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._fail = [(429, headers)] * count

    def fail_next(self, count: int, status: int = 500) -> None:
        if count < 0 or status < 400:
            raise ValueError("count must be >= 0 and status an HTTP error status")
        with self._lock:
            self._fail = [(status, {})] * count

    def post_webhook(self, url: str, events: Sequence[Mapping[str, Any]]) -> httpx.Response:
        """POST lead events to ``url`` as Kommo does: form-encoded, ``leads[status][0][id]=…``."""
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "amoCRM-Webhooks/3.0"}
        return httpx.post(url, content=webhook_body(events), timeout=10.0, headers=headers)

    # ----------------------------------------------------------------- app

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        routes = [
            ("GET", "/api/v4/account", self._account),
            ("GET", "/api/v4/leads/pipelines/{id}", self._pipeline),
            ("GET", "/api/v4/leads/custom_fields", self._lead_fields),
            ("GET", "/api/v4/contacts/custom_fields", self._contact_fields),
            ("GET", "/api/v4/users", self._users),
            ("GET", "/api/v4/contacts", self._search_contacts),
            ("GET", "/api/v4/leads/{id}", self._get_lead),
            ("POST", "/api/v4/leads/complex", self._complex),
            ("POST", "/api/v4/leads/notes", self._add_notes),
            ("POST", "/api/v4/leads", self._add_leads),
            ("PATCH", "/api/v4/leads", self._update_leads),
            ("PATCH", "/api/v4/contacts", self._update_contacts),
            ("POST", "/api/v4/tasks", self._add_tasks),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(request.method, request.path, dict(request.query),
                                 {k.lower(): v for k, v in request.headers.items()}, body, time.monotonic())
        with self._lock:
            self._requests.append(record)
            down, injected = self._down, (self._fail.pop(0) if self._fail else None)
        if down:
            response: web.StreamResponse = _nginx(503)
        elif injected is not None:
            response = self._injected(*injected)
        elif request.headers.get("Authorization") != f"Bearer {self.token}":
            response = web.json_response(problem(401, "Invalid user name or password"), status=401)
        else:
            request["json"] = body
            try:
                response = await handler(request)
            except Invalid as error:
                response = _validation(error)
        record.status = response.status
        return response

    @staticmethod
    def _injected(status: int, headers: dict[str, str]) -> web.Response:
        if status == 429:
            body = problem(429, "You have sent too many requests in a given amount of time.", retry_after=300)
            return web.json_response(body, status=429, headers=headers)
        if status in (502, 503, 504):
            return _nginx(status)
        if status >= 500:
            return web.json_response({"title": "ErrInternalServer", "status": status, "trace_id": "fake-trace",
                                      "detail": "Our team is probably already working on resolving the issue."},
                                     status=status)
        return web.json_response(problem(status, _REASONS.get(status, "Error")), status=status)

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(problem(404, f"Cannot {request.method} {request.path}"), status=404)

    # ----------------------------------------------------------------- reads

    def _link_self(self, path: str) -> dict[str, Any]:
        return {"self": {"href": f"{self.url}{path}"}}

    async def _account(self, request: web.Request) -> web.Response:
        return web.json_response({
            "id": ACCOUNT_ID, "name": "SolarPrime", "subdomain": SUBDOMAIN, "current_user_id": next(iter(USERS)),
            "country": "BR", "currency": "BRL", "currency_symbol": "R$", "_links": self._link_self("/api/v4/account")})

    async def _pipeline(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != str(PIPELINE_ID):
            return web.json_response(problem(404, "Pipeline not found"), status=404)
        names = [(INCOMING_STAGE, "Leads de entrada", 1), (FIRST_STAGE, "Contato inicial", 0),
                 (QUALIFIED_STAGE, "Qualificado", 0), (MEETING_STAGE, "Visita agendada", 0),
                 (IN_SERVICE_STAGE, "Em atendimento", 0), (WON, "Venda ganha", 0), (LOST, "Venda perdida", 0)]
        statuses = [{"id": i, "name": n, "sort": 10 * k, "is_editable": i not in (WON, LOST),
                     "pipeline_id": PIPELINE_ID, "color": "#fffeb2", "type": t, "account_id": ACCOUNT_ID}
                    for k, (i, n, t) in enumerate(names)]
        return web.json_response({"id": PIPELINE_ID, "name": "Funil de vendas", "sort": 1, "is_main": True,
                                  "is_unsorted_on": True, "is_archive": False, "account_id": ACCOUNT_ID,
                                  "_links": self._link_self(request.path), "_embedded": {"statuses": statuses}})

    def _page(self, request: web.Request, key: str, items: list[dict[str, Any]]) -> web.Response:
        try:
            page = max(1, int(request.query.get("page", "1")))
            limit = min(int(request.query.get("limit", str(self.page_size))), self.page_size, MAX_LIMIT)
        except ValueError:
            return web.json_response(problem(400, "Invalid page or limit"), status=400)
        chunk = items[(page - 1) * limit: page * limit]
        if not chunk:
            return web.Response(status=204)
        links = {"self": {"href": f"{self.url}{request.path}?page={page}&limit={limit}"}}
        if page * limit < len(items):
            links["next"] = {"href": f"{self.url}{request.path}?page={page + 1}&limit={limit}"}
        return web.json_response({"_total_items": len(items), "_page": page, "_page_count": -(-len(items) // limit),
                                  "_links": links, "_embedded": {key: chunk}})

    async def _lead_fields(self, request: web.Request) -> web.Response:
        items = [{"id": i, "name": n, "type": t, "code": None, "sort": i, "is_api_only": False, "enums": None,
                  "entity_type": "leads", "account_id": ACCOUNT_ID} for i, n, t in LEAD_FIELDS]
        return self._page(request, "custom_fields", items)

    async def _contact_fields(self, request: web.Request) -> web.Response:
        enums = [{"id": e, "value": v, "sort": e} for v, e in PHONE_ENUMS.items()]
        items = [{"id": i, "name": n, "type": t, "code": c, "sort": i, "is_predefined": c is not None,
                  "enums": enums if t == "multitext" else None, "entity_type": "contacts", "account_id": ACCOUNT_ID}
                 for i, n, t, c in CONTACT_FIELDS]
        return self._page(request, "custom_fields", items)

    async def _users(self, request: web.Request) -> web.Response:
        items = [{"id": i, "name": n, "email": f"user{i}@example.com", "lang": "pt",
                  "rights": {"leads": {"view": "A", "edit": "A", "add": "A"}}} for i, n in USERS.items()]
        return self._page(request, "users", items)

    async def _search_contacts(self, request: web.Request) -> web.Response:
        digits = _NON_DIGITS.sub("", request.query.get("query", ""))
        with self._lock:
            found = [self._contact_out(c, request.query.get("with", "")) for c in self._contacts.values()
                     if digits and any(digits in _NON_DIGITS.sub("", p) for p in _phones(c))]
        if not found:
            return web.Response(status=204)
        return web.json_response({"_page": 1, "_links": self._link_self("/api/v4/contacts"),
                                  "_embedded": {"contacts": found}})

    async def _get_lead(self, request: web.Request) -> web.Response:
        try:
            lead_id = int(request.match_info["id"])
        except ValueError:
            return await self._not_found(request)
        with self._lock:
            lead = self._leads.get(lead_id)
            if lead is None:
                return web.Response(status=204)
            out = self._lead_out(lead, "contacts" in request.query.get("with", ""))
        return web.json_response(out)

    # ----------------------------------------------------------------- writes

    def _items(self, request: web.Request) -> list[dict[str, Any]]:
        body = request.get("json")
        if not isinstance(body, list) or not body or not all(isinstance(i, dict) for i in body):
            raise Invalid(0, "", "InvalidType", "This value should be of type array.")
        return body

    async def _complex(self, request: web.Request) -> web.Response:
        items = self._items(request)
        answer = []
        with self._lock:
            for index, item in enumerate(items):
                self._check_lead(index, item)
                contacts = (item.get("_embedded") or {}).get("contacts") or []
                for contact in contacts:
                    self._check_fields(index, contact, "_embedded.contacts.0.", CONTACT_FIELDS)
            for index, item in enumerate(items):
                lead = self._new_lead(item)
                contacts = (item.get("_embedded") or {}).get("contacts") or []
                contact_id = self._new_contact(contacts[0])["id"] if contacts else None
                if contact_id:
                    self._link(lead["id"], contact_id)
                answer.append({"id": lead["id"], "contact_id": contact_id, "company_id": None,
                               "request_id": [str(item.get("request_id", index))], "merged": False})
        return web.json_response(answer)

    async def _add_leads(self, request: web.Request) -> web.Response:
        items = self._items(request)
        out = []
        with self._lock:
            for index, item in enumerate(items):
                self._check_lead(index, item)
                for contact in (item.get("_embedded") or {}).get("contacts") or []:
                    if contact.get("id") not in self._contacts:
                        raise Invalid(index, "_embedded.contacts.0.id", "NotFound", "Contact not found")
            for index, item in enumerate(items):
                lead = self._new_lead(item)
                for contact in (item.get("_embedded") or {}).get("contacts") or []:
                    self._link(lead["id"], contact["id"])
                out.append({"id": lead["id"], "request_id": str(item.get("request_id", index)),
                            "_links": self._link_self(f"/api/v4/leads/{lead['id']}")})
        return web.json_response({"_links": self._link_self("/api/v4/leads"), "_embedded": {"leads": out}})

    async def _update_leads(self, request: web.Request) -> web.Response:
        items = self._items(request)
        out = []
        with self._lock:
            for index, item in enumerate(items):
                if item.get("id") not in self._leads:
                    raise Invalid(index, "id", "NotFound", "Entity not found")
                self._check_lead(index, item)
            for item in items:
                lead = self._leads[item["id"]]
                for key in ("name", "status_id", "pipeline_id", "responsible_user_id", "price"):
                    if key in item:
                        lead[key] = item[key]
                _merge_values(lead, item.get("custom_fields_values"))
                tags = (item.get("_embedded") or {}).get("tags")
                if tags is not None:
                    lead["tags"] = [t["name"] for t in tags if t.get("name")]
                lead["tags"] += [t["name"] for t in item.get("tags_to_add") or [] if t.get("name") not in lead["tags"]]
                lead["updated_at"] = int(time.time())
                out.append({"id": lead["id"], "updated_at": lead["updated_at"],
                            "_links": self._link_self(f"/api/v4/leads/{lead['id']}")})
        return web.json_response({"_links": self._link_self("/api/v4/leads"), "_embedded": {"leads": out}})

    async def _update_contacts(self, request: web.Request) -> web.Response:
        items = self._items(request)
        out = []
        with self._lock:
            for index, item in enumerate(items):
                if item.get("id") not in self._contacts:
                    raise Invalid(index, "id", "NotFound", "Entity not found")
                self._check_fields(index, item, "", CONTACT_FIELDS)
            for item in items:
                contact = self._contacts[item["id"]]
                if "name" in item:
                    contact["name"] = item["name"]
                _merge_values(contact, item.get("custom_fields_values"))
                contact["updated_at"] = int(time.time())
                out.append({"id": contact["id"], "updated_at": contact["updated_at"]})
        return web.json_response({"_links": self._link_self("/api/v4/contacts"), "_embedded": {"contacts": out}})

    async def _add_notes(self, request: web.Request) -> web.Response:
        items = self._items(request)
        out = []
        with self._lock:
            for index, item in enumerate(items):
                if item.get("entity_id") not in self._leads:
                    raise Invalid(index, "entity_id", "NotFound", "Entity not found")
                if item.get("note_type") != "common" or not (item.get("params") or {}).get("text"):
                    raise Invalid(index, "params.text", "NotBlank", "This value should not be blank.")
            for index, item in enumerate(items):
                note = {"id": next(self._ids), "entity_id": item["entity_id"], "note_type": "common",
                        "params": {"text": item["params"]["text"]}, "created_at": int(time.time())}
                self._notes.append(note)
                out.append({"id": note["id"], "entity_id": note["entity_id"], "request_id": str(index)})
        return web.json_response({"_links": self._link_self("/api/v4/leads/notes"), "_embedded": {"notes": out}})

    async def _add_tasks(self, request: web.Request) -> web.Response:
        items = self._items(request)
        out = []
        with self._lock:
            for index, item in enumerate(items):
                for key in ("text", "complete_till"):
                    if not item.get(key):
                        raise Invalid(index, key, "NotBlank", "This value should not be blank.")
                if not isinstance(item["complete_till"], int):
                    raise Invalid(index, "complete_till", "InvalidType", "This value should be of type int.")
                if item.get("entity_type") == "leads" and item.get("entity_id") not in self._leads:
                    raise Invalid(index, "entity_id", "NotFound", "Entity not found")
                if item.get("task_type_id", 1) not in TASK_TYPES:
                    raise Invalid(index, "task_type_id", "NotSupportedChoice", NOT_A_CHOICE)
                self._check_user(index, item)
            for index, item in enumerate(items):
                task = {**item, "id": next(self._ids), "is_completed": False}
                self._tasks.append(task)
                out.append({"id": task["id"], "request_id": str(item.get("request_id", index))})
        return web.json_response({"_links": self._link_self("/api/v4/tasks"), "_embedded": {"tasks": out}})

    # ----------------------------------------------------------------- model (under the lock)

    def _check_user(self, index: int, item: Mapping[str, Any]) -> None:
        if "responsible_user_id" in item and item["responsible_user_id"] not in USERS:
            raise Invalid(index, "responsible_user_id", "NotSupportedChoice", NOT_A_CHOICE)

    def _check_fields(self, index: int, item: Mapping[str, Any], prefix: str, known: Sequence[tuple[Any, ...]]) -> None:
        ids = {f[0] for f in known}
        codes = {f[3] for f in known if len(f) > 3 and f[3]}
        for n, value in enumerate(item.get("custom_fields_values") or []):
            if value.get("field_id") not in ids and value.get("field_code") not in codes:
                raise Invalid(index, f"{prefix}custom_fields_values.{n}.field_id", "NotSupportedChoice", NOT_A_CHOICE)

    def _check_lead(self, index: int, item: Mapping[str, Any]) -> None:
        if "pipeline_id" in item and item["pipeline_id"] != PIPELINE_ID:
            raise Invalid(index, "pipeline_id", "NotSupportedChoice", NOT_A_CHOICE)
        stages = {INCOMING_STAGE, FIRST_STAGE, QUALIFIED_STAGE, MEETING_STAGE, IN_SERVICE_STAGE, WON, LOST}
        if "status_id" in item and item["status_id"] not in stages:
            raise Invalid(index, "status_id", "NotSupportedChoice", NOT_A_CHOICE)
        self._check_user(index, item)
        self._check_fields(index, item, "", LEAD_FIELDS)

    def _new_lead(self, item: Mapping[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        tags = [t["name"] for t in (item.get("_embedded") or {}).get("tags") or []]
        lead = {"id": next(self._ids), "name": item.get("name", ""), "price": item.get("price", 0),
                "responsible_user_id": item.get("responsible_user_id", next(iter(USERS))),
                "status_id": item.get("status_id", FIRST_STAGE), "pipeline_id": item.get("pipeline_id", PIPELINE_ID),
                "custom_fields_values": [], "tags": tags, "contact_ids": [], "request_id": item.get("request_id"),
                "created_at": now, "updated_at": now}
        _merge_values(lead, item.get("custom_fields_values"))
        self._leads[lead["id"]] = lead
        return lead

    def _new_contact(self, item: Mapping[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        contact = {"id": next(self._ids), "name": item.get("name", ""), "custom_fields_values": [], "lead_ids": [],
                   "responsible_user_id": item.get("responsible_user_id", next(iter(USERS))),
                   "created_at": now, "updated_at": now}
        _merge_values(contact, item.get("custom_fields_values"))
        self._contacts[contact["id"]] = contact
        return contact

    def _link(self, lead_id: int, contact_id: int) -> None:
        self._leads[lead_id]["contact_ids"].append(contact_id)
        self._contacts[contact_id]["lead_ids"].append(lead_id)

    def _lead_out(self, lead: Mapping[str, Any], with_contacts: bool) -> dict[str, Any]:
        tags = [{"id": 900 + n, "name": t, "color": None} for n, t in enumerate(lead["tags"])]
        embedded: dict[str, Any] = {"tags": tags, "companies": []}
        if with_contacts:
            embedded["contacts"] = [{"id": c, "is_main": n == 0, "_links": self._link_self(f"/api/v4/contacts/{c}")}
                                    for n, c in enumerate(lead["contact_ids"])]
        return {"id": lead["id"], "name": lead["name"], "price": lead["price"],
                "responsible_user_id": lead["responsible_user_id"], "group_id": 0, "status_id": lead["status_id"],
                "pipeline_id": lead["pipeline_id"], "loss_reason_id": None,
                "created_by": 0, "updated_by": 0, "created_at": lead["created_at"], "updated_at": lead["updated_at"],
                "closed_at": None, "closest_task_at": None, "is_deleted": False,
                "custom_fields_values": _values_out(lead["custom_fields_values"], LEAD_FIELDS),
                "score": None, "account_id": ACCOUNT_ID, "labor_cost": None,
                "_links": self._link_self(f"/api/v4/leads/{lead['id']}"), "_embedded": embedded}

    def _contact_out(self, contact: Mapping[str, Any], with_: str) -> dict[str, Any]:
        embedded: dict[str, Any] = {"tags": [], "companies": []}
        if "leads" in with_:
            embedded["leads"] = [{"id": i, "_links": self._link_self(f"/api/v4/leads/{i}")}
                                 for i in contact["lead_ids"]]
        return {"id": contact["id"], "name": contact["name"], "first_name": contact["name"], "last_name": "",
                "responsible_user_id": contact["responsible_user_id"], "group_id": 0, "created_by": 0, "updated_by": 0,
                "created_at": contact["created_at"], "updated_at": contact["updated_at"], "closest_task_at": None,
                "is_deleted": False, "is_unsorted": False,
                "custom_fields_values": _values_out(contact["custom_fields_values"], CONTACT_FIELDS),
                "account_id": ACCOUNT_ID, "_links": self._link_self(f"/api/v4/contacts/{contact['id']}"),
                "_embedded": embedded}


def _merge_values(entity: dict[str, Any], values: Any) -> None:
    """A field sent replaces that field's values; fields not sent stay (Kommo's PATCH)."""
    for value in values or []:
        key = value.get("field_id") or value.get("field_code")
        entity["custom_fields_values"] = [v for v in entity["custom_fields_values"]
                                          if (v.get("field_id") or v.get("field_code")) != key]
        entity["custom_fields_values"].append(copy.deepcopy(value))


def _values_out(values: list[dict[str, Any]], known: Sequence[tuple[Any, ...]]) -> Optional[list[dict[str, Any]]]:
    out = []
    for value in values:
        field = next((f for f in known
                      if f[0] == value.get("field_id") or (len(f) > 3 and f[3] == value.get("field_code"))), None)
        if field is not None:
            out.append({"field_id": field[0], "field_name": field[1],
                        "field_code": field[3] if len(field) > 3 else None, "field_type": field[2], "values": [
                            {**v, **({"enum_id": PHONE_ENUMS.get(v["enum_code"])} if "enum_code" in v else {})}
                            for v in value.get("values") or []]})
    return out or None  # Kommo gives null, not [], for an entity without values


def _phones(contact: Mapping[str, Any]) -> list[str]:
    return [str(v.get("value", "")) for value in contact["custom_fields_values"] if value.get("field_code") == "PHONE"
            for v in value.get("values") or []]


def _validation(error: Invalid) -> web.Response:
    errors = [{"code": error.code, "path": error.path, "detail": error.detail}]
    body = problem(400, "Request validation failed",
                   **{"validation-errors": [{"request_id": str(error.index), "errors": errors}]})
    return web.json_response(body, status=400, content_type="application/problem+json")


def _nginx(status: int) -> web.Response:
    page = _NGINX_PAGE.format(status, _REASONS.get(status, "Error"))
    return web.Response(status=status, text=page, content_type="text/html")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Fake Kommo API v4 on loopback")
    parser.add_argument("--port", type=int, default=DEFAULT_CLI_PORT)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args(argv)
    return serve_until_signalled(FakeKommo(args.token, port=args.port),
                                 f"fake Kommo on http://{DEFAULT_HOST}:{args.port} (token {args.token})")


if __name__ == "__main__":
    raise SystemExit(main())

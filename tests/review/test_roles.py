"""Accounts, roles and the audit trail over HTTP, against the session's review server:
every route × role (and without a login), what a viewer sees of phones, the users CLI
and page, per-user sessions ending at once, the login back-off, and audit entries."""
from __future__ import annotations

import csv
import io
import re
import time
from typing import Dict, Optional, Tuple

import httpx
import pytest

from review.app import create_app
from review.settings import ReviewSettings
from tests.review.conftest import (
    OPERATOR,
    OPERATOR_PASSWORD,
    PASSWORDS,
    VIEWER,
    VIEWER_PASSWORD,
    ReviewClient,
    users_cli,
)

pytestmark = pytest.mark.integration

ANY, VIEWER_ROLE, OPERATOR_ROLE, ADMIN_ROLE = "public", "viewer", "operator", "admin"
RANK = {VIEWER_ROLE: 0, OPERATOR_ROLE: 1, ADMIN_ROLE: 2}
NOBODY = "5511000000000"  # no such conversation: an allowed change answers 404 and changes nothing

# Every route of the app with the least role it needs. test_the_table_lists_every_route keeps
# it complete: a new route fails the suite until someone decides who may use it.
ROUTES: Dict[Tuple[str, str], str] = {
    ("GET", "/healthz"): ANY, ("GET", "/login"): ANY, ("POST", "/login"): ANY,
    ("POST", "/logout"): VIEWER_ROLE, ("GET", "/api/session"): VIEWER_ROLE,
    ("GET", "/"): VIEWER_ROLE, ("GET", "/conversations"): VIEWER_ROLE, ("GET", "/api/conversations"): VIEWER_ROLE,
    ("POST", "/filters"): OPERATOR_ROLE, ("POST", "/filters/delete"): OPERATOR_ROLE,
    ("GET", "/conversations/<raw_id:str>"): VIEWER_ROLE, ("GET", "/api/conversations/<raw_id:str>"): VIEWER_ROLE,
    ("GET", "/conversations/<raw_id:str>/media/<message_id:str>"): VIEWER_ROLE,
    ("POST", "/conversations/<raw_id:str>/review"): OPERATOR_ROLE,
    ("POST", "/conversations/<raw_id:str>/tags"): OPERATOR_ROLE,
    ("POST", "/conversations/<raw_id:str>/flag"): OPERATOR_ROLE,
    ("POST", "/conversations/<raw_id:str>/takeover"): OPERATOR_ROLE,
    ("POST", "/conversations/<raw_id:str>/handback"): OPERATOR_ROLE,
    ("POST", "/conversations/<raw_id:str>/send"): OPERATOR_ROLE,
    ("POST", "/conversations/<raw_id:str>/typing"): OPERATOR_ROLE,
    ("POST", "/conversations/<raw_id:str>/export-story"): ADMIN_ROLE,
    ("GET", "/nlu"): VIEWER_ROLE, ("GET", "/api/nlu"): VIEWER_ROLE,
    ("POST", "/nlu/<item_id:str>"): OPERATOR_ROLE, ("POST", "/nlu/export"): ADMIN_ROLE,
    ("GET", "/leads"): VIEWER_ROLE, ("GET", "/leads.csv"): VIEWER_ROLE, ("GET", "/api/leads"): VIEWER_ROLE,
    ("GET", "/integrations"): VIEWER_ROLE, ("GET", "/api/integrations"): VIEWER_ROLE,
    ("POST", "/integrations/retry"): OPERATOR_ROLE,
    ("GET", "/questions"): VIEWER_ROLE, ("GET", "/api/questions"): VIEWER_ROLE,
    ("POST", "/questions/<qid:str>/answer"): OPERATOR_ROLE, ("POST", "/questions/<qid:str>/dismiss"): OPERATOR_ROLE,
    ("POST", "/questions/export"): ADMIN_ROLE,
    ("GET", "/events"): VIEWER_ROLE,
    ("GET", "/users"): ADMIN_ROLE, ("GET", "/api/users"): ADMIN_ROLE, ("POST", "/users"): ADMIN_ROLE,
    ("POST", "/users/<name:str>/disable"): ADMIN_ROLE, ("POST", "/users/<name:str>/reset"): ADMIN_ROLE,
    ("GET", "/audit"): ADMIN_ROLE, ("GET", "/api/audit"): ADMIN_ROLE, ("GET", "/audit.csv"): ADMIN_ROLE,
}
# Not routes of their own, but rights of their own.
EXTRA = {("GET", "/leads.csv?phones=full"): ADMIN_ROLE}
FILL = {"<raw_id:str>": NOBODY, "<item_id:str>": "0000000000000000", "<message_id:str>": "x",
        "<name:str>": "nobody"}


def concrete(path: str) -> str:
    for pattern, value in FILL.items():
        path = path.replace(pattern, value)
    return path


def test_the_table_lists_every_route():
    app = create_app(ReviewSettings(), name="review-routes")
    found = set()
    for route in app.router.routes:
        path = "/" + route.path.lstrip("/")
        if path.startswith("/static"):
            continue
        for method in route.methods:
            if method in ("GET", "POST"):
                found.add((method, path))
    assert found == set(ROUTES)


@pytest.fixture(scope="module")
def clients(review_server):
    made = {VIEWER_ROLE: ReviewClient(review_server.url, VIEWER, VIEWER_PASSWORD),
            OPERATOR_ROLE: ReviewClient(review_server.url, OPERATOR, OPERATOR_PASSWORD),
            ADMIN_ROLE: ReviewClient(review_server.url)}
    yield made
    for client in made.values():
        client.close()


def call(client: Optional[ReviewClient], url: str, method: str, path: str) -> int:
    """The status a route answers; /events is a stream: only its head is read."""
    http = client.http if client else httpx.Client(base_url=url, timeout=30)
    headers = {"X-CSRF-Token": client.csrf} if client else {}
    try:
        if path == "/events":
            with http.stream("GET", path, headers=headers) as response:
                return response.status_code
        if method == "GET":
            return http.get(path, headers={"Accept": "application/json"} if not client else {}).status_code
        return http.post(path, data={"x": "1"}, headers=headers).status_code
    finally:
        if not client:
            http.close()


def test_every_route_for_every_role(review_server, clients):
    """Below the route's role: 403 (401 without a login); at or above it: anything but
    401/403 (the targets do not exist, so changes answer 404 or 400 and change nothing)."""
    table = {**ROUTES, **EXTRA}
    failures = []
    for (method, pattern), needed in sorted(table.items()):
        path = concrete(pattern)
        if needed == ANY or path == "/logout":
            continue  # /login is the login tests'; /logout would end the shared sessions (below)
        if call(None, review_server.url, method, path) not in (401, 303):
            failures.append(f"{method} {path} without login")
        for role, client in clients.items():
            status = call(client, review_server.url, method, path)
            allowed = RANK[role] >= RANK[needed]
            if allowed and status in (401, 403) or not allowed and status != 403:
                failures.append(f"{method} {path} as {role}: {status}")
    assert failures == []
    for role in RANK:  # logout: any role, with a session of its own
        name = {VIEWER_ROLE: VIEWER, OPERATOR_ROLE: OPERATOR, ADMIN_ROLE: "admin"}[role]
        own = ReviewClient(review_server.url, name, PASSWORDS[name])
        assert own.post("/logout").status_code == 303
        assert own.http.get("/api/session").status_code == 401
        own.close()


# --- what a viewer sees ---------------------------------------------------------------------------


def test_a_viewer_reads_conversations_with_phones_masked(clients, seeded, operator):
    viewer = clients[VIEWER_ROLE]
    operator.wait_listed(seeded.qualified)
    listed = viewer.http.get("/api/conversations", params={"q": seeded.qualified}).json()["conversations"]
    assert len(listed) == 1 and re.fullmatch(r"c[0-9a-f]{20}", listed[0]["id"])
    assert seeded.qualified not in viewer.http.get("/api/conversations").text
    page = viewer.http.get("/conversations").text
    assert seeded.qualified not in page and "/conversations/c" in page
    conversation = viewer.http.get(f"/conversations/{listed[0]['ref']}")
    assert conversation.status_code == 200 and seeded.qualified not in conversation.text
    # Nothing to change: no take-over, review, tag or export forms; no way to the full number.
    for action in ('/takeover"', '/review"', '/tags"', '/export-story"', '/flag"', "phone=full", "<textarea"):
        assert action not in conversation.text, action
    assert viewer.http.get(f"/conversations/{listed[0]['ref']}?phone=full").text.count(seeded.qualified) == 0
    # The number itself names nothing for a viewer.
    assert viewer.http.get(f"/conversations/{seeded.qualified}").status_code == 404
    assert seeded.qualified not in viewer.http.get("/api/leads").text
    assert seeded.qualified not in viewer.http.get("/leads.csv").text
    assert viewer.http.get("/leads.csv", params={"phones": "full"}).status_code == 403
    for link in ("/audit", "/users", "csv-full", "nlu-export"):
        assert link not in viewer.http.get("/leads").text + viewer.http.get("/nlu").text, link


def test_an_operator_writes_but_does_not_export_or_manage(clients, seeded):
    operator = clients[OPERATOR_ROLE]
    assert operator.post(f"/conversations/{seeded.fallback}/tags", tag="ligar amanhã").json()["ok"]
    page = operator.http.get("/nlu").text
    assert "nlu-export" not in page and 'action="/nlu/' in page
    assert "/audit" not in page and "/users" not in page
    shown = operator.http.get(f"/api/conversations/{seeded.fallback}").json()
    full = operator.http.get(f"/conversations/{shown['ref']}", params={"phone": "full"}).text
    assert seeded.fallback in full  # shown on request, and audited (below)


# --- audit ----------------------------------------------------------------------------------------


def test_changes_and_full_phone_views_are_in_the_audit_log(clients, seeded):
    admin = clients[ADMIN_ROLE]
    assert admin.http.get("/leads.csv", params={"phones": "full"}).status_code == 200
    entries = admin.http.get("/api/audit", params={"user": OPERATOR}).json()["entries"]
    actions = {(e["action"], e["conversation"]) for e in entries}
    assert ("tag_added", seeded.fallback) in actions and ("phone_view", seeded.fallback) in actions
    assert all(e["role"] == "operator" for e in entries)
    csv_views = admin.http.get("/api/audit", params={"action": "csv_full_phones"}).json()["entries"]
    assert csv_views and csv_views[0]["user"] == "admin"
    tagged = admin.http.get("/api/audit", params={"conversation": seeded.fallback, "action": "tag_added"}).json()
    assert [e["detail"] for e in tagged["entries"]][:1] == ["ligar amanhã"]
    assert admin.http.get("/api/audit", params={"date_to": "2000-01-01"}).json()["entries"] == []
    page = admin.http.get("/audit", params={"user": OPERATOR}).text
    assert "adicionou tag" in page and seeded.fallback not in page  # masked on screen
    exported = admin.http.get("/audit.csv", params={"user": OPERATOR})
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:4] == ["quando (UTC)", "usuário", "papel", "ação"]
    assert any(r[3] == "tag_added" and r[4] == seeded.fallback for r in rows[1:])
    latest = admin.http.get("/api/audit", params={"user": "admin"}).json()["entries"][0]
    assert latest["action"] == "audit_export"


# --- accounts: CLI, page, sessions, back-off --------------------------------------------------


def test_users_cli_sessions_end_at_once_and_failures_back_off(review_server):
    env = review_server.env
    assert users_cli(env, "add", "bruno", "--role", "operator", "--password-stdin",
                     stdin="curta\n").returncode == 1  # too short
    assert users_cli(env, "add", "bruno", "--role", "operator", "--password-stdin",
                     stdin="senha-do-bruno-1\n").returncode == 0
    assert users_cli(env, "add", "bruno", "--role", "viewer", "--password-stdin",
                     stdin="outra-senha-123\n").returncode == 1  # exists
    listed = users_cli(env, "list").stdout
    assert re.search(r"^bruno\s+operator\s+ativa", listed, re.M) and re.search(r"^vera\s+viewer", listed, re.M)
    bruno = ReviewClient(review_server.url, "bruno", "senha-do-bruno-1")

    # Five wrong passwords, then even the right one waits (Retry-After), for this account only.
    for _ in range(5):
        assert httpx.post(review_server.url + "/login",
                          data={"username": "bruno", "password": "errada"}).status_code == 401
    refused = httpx.post(review_server.url + "/login", data={"username": "bruno", "password": "senha-do-bruno-1"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    ReviewClient(review_server.url, VIEWER, VIEWER_PASSWORD).close()  # other accounts log in meanwhile
    time.sleep(2.1)
    ReviewClient(review_server.url, "bruno", "senha-do-bruno-1").close()

    # Disabled: its sessions end at once and it cannot log in.
    assert bruno.http.get("/api/session").status_code == 200
    assert users_cli(env, "disable", "bruno").returncode == 0
    assert bruno.http.get("/api/session").status_code == 401
    assert httpx.post(review_server.url + "/login",
                      data={"username": "bruno", "password": "senha-do-bruno-1"}).status_code == 401
    # Reset: active again with the new password only.
    assert users_cli(env, "reset", "bruno", "--password-stdin", stdin="nova-senha-do-bruno\n").returncode == 0
    again = ReviewClient(review_server.url, "bruno", "nova-senha-do-bruno")
    assert users_cli(env, "reset", "bruno", "--password-stdin", stdin="mais-uma-senha-1\n").returncode == 0
    assert again.http.get("/api/session").status_code == 401
    for client in (bruno, again):
        client.close()
    assert users_cli(env, "disable", "ninguem").returncode == 1


def test_admins_manage_users_on_the_page(clients, review_server):
    admin = clients[ADMIN_ROLE]
    made = admin.post("/users", name="Carla", role="viewer", password="senha-da-carla-1")
    assert made.json()["ok"] and made.json()["user"]["name"] == "carla"
    assert admin.post("/users", name="carla", role="viewer", password="senha-da-carla-1").status_code == 400
    assert admin.post("/users", name="x", role="boss", password="senha-da-carla-1").status_code == 400
    carla = ReviewClient(review_server.url, "carla", "senha-da-carla-1")
    assert carla.http.get("/api/session").json()["role"] == "viewer"
    assert admin.post("/users/carla/disable").json()["ok"]
    assert carla.http.get("/api/conversations").status_code == 401
    assert admin.post("/users/admin/disable").status_code == 409  # not oneself
    assert "carla" in admin.http.get("/users").text
    assert "argon2" not in admin.http.get("/api/users").text  # no hashes
    names = {e["detail"].split(" ")[0] for e in
             admin.http.get("/api/audit", params={"action": "user_added"}).json()["entries"]}
    assert {"carla", "bruno", OPERATOR, VIEWER} <= names
    carla.close()

"""The staff page over HTTP: sign-in, triage, similar tickets, feedback, queue, quality."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from triage.api.app import create_app
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings
from triage.store.database import Database
from triage.store.feedback import Feedback, FeedbackStore
from triage.store.schema import feedback as feedback_table
from triage.store.schema import utcnow
from triage.store.triaged import HeadOutcome, TriagedStore

STAFF_KEY, VIEWER_KEY, FEEDBACK_ONLY_KEY, ADMIN_KEY = (
    "trg_staff-key",
    "trg_viewer-key",
    "trg_feedback-key",
    "trg_admin-key",
)
KEYS = [
    ApiKey(name="lina", sha256=hash_key(STAFF_KEY), scopes={Scope.CLASSIFY, Scope.FEEDBACK}),
    ApiKey(name="viewer", sha256=hash_key(VIEWER_KEY), scopes={Scope.CLASSIFY}),
    ApiKey(name="bot", sha256=hash_key(FEEDBACK_ONLY_KEY), scopes={Scope.FEEDBACK}),
    ApiKey(name="ops", sha256=hash_key(ADMIN_KEY), scopes={Scope.ADMIN}),
]
RESOLVED = [
    {
        "id": "R-VPN",
        "subject": "VPN disconnects every hour",
        "body": "The VPN client drops the connection about once an hour since the update.",
        "resolution": "Updated the VPN client to 7.2.",
        "category": "network_vpn",
        "tier": "L1",
        "resolved_at": "2026-11-20T14:03:00Z",
    },
    {
        "id": "R-MAIL",
        "subject": "Outlook asks for the password again and again",
        "body": "Outlook keeps prompting for credentials after the password change.",
        "resolution": "Cleared the cached credentials in Windows Credential Manager.",
        "category": "email",
        "tier": "L1",
        "resolved_at": "2026-11-22T10:00:00Z",
        "visibility": "internal",
    },
]
VPN = {"subject": "VPN keeps disconnecting", "body": "my VPN drops every hour since the update"}


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"api_keys": KEYS, "jobs_worker": False, "model_watch_seconds": 0}
    )


@pytest.fixture
def ui(app_settings: Settings, service: TriageService) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings, service=service)) as client:
        stored = client.post(
            "/v1/tickets/resolved", json={"tickets": RESOLVED}, headers={"X-API-Key": ADMIN_KEY}
        )
        assert stored.status_code == 201
        yield client


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: TestClient, key: str = STAFF_KEY) -> httpx.Response:
    page = client.get("/ui/signin")
    return client.post(
        "/ui/signin",
        data={"csrf": csrf(page), "key": key, "next": "/ui/"},
        follow_redirects=False,
    )


def triage(client: TestClient, **ticket: str) -> httpx.Response:
    page = client.get("/ui/")
    response = client.post(
        "/ui/triage", data={"csrf": csrf(page), **ticket}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"])


def hidden(page: httpx.Response, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page.text)
    assert found, name
    return found.group(1)


def stored_feedback(settings: Settings) -> dict[str, Feedback]:
    with Database(settings.database()) as database:
        return FeedbackStore(database).for_ticket("INC-42")


def test_every_page_asks_to_sign_in_first(ui: TestClient) -> None:
    for path in ("/ui/", "/ui/queue", "/ui/tickets/1"):
        response = ui.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/ui/signin?next=/ui/")
    assert ui.get("/ui", follow_redirects=False).headers["location"] == "/ui/"


def test_sign_in_keeps_a_signed_strict_httponly_cookie_and_never_the_key(ui: TestClient) -> None:
    response = sign_in(ui)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("triage_ui=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    assert STAFF_KEY not in cookie
    assert STAFF_KEY not in response.headers["location"]
    page = ui.get("/ui/")
    assert page.status_code == 200
    assert "Signed in as lina" in page.text
    assert STAFF_KEY not in page.text
    # A forged cookie is a stranger.
    value = cookie.split(";")[0].split("=", 1)[1]
    ui.cookies.clear()
    ui.cookies.set("triage_ui", value[:-2] + ("xx" if not value.endswith("xx") else "yy"))
    assert ui.get("/ui/", follow_redirects=False).status_code == 303


def test_a_wrong_key_a_key_without_classify_or_a_stale_form_do_not_sign_in(
    ui: TestClient,
) -> None:
    wrong = sign_in(ui, "trg_nope")
    assert wrong.status_code == 401
    assert "That API key is not valid." in wrong.text
    feedback_only = sign_in(ui, FEEDBACK_ONLY_KEY)
    assert feedback_only.status_code == 403
    assert "lacks the classify scope" in feedback_only.text
    stale = ui.post("/ui/signin", data={"csrf": "forged", "key": STAFF_KEY})
    assert stale.status_code == 403
    assert ui.get("/ui/", follow_redirects=False).status_code == 303


def test_sign_in_only_redirects_within_the_page(ui: TestClient) -> None:
    page = ui.get("/ui/signin")
    for target in ("https://evil.example/ui/", "//evil.example/ui/", "/v1/model"):
        response = ui.post(
            "/ui/signin",
            data={"csrf": csrf(page), "key": STAFF_KEY, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/ui/"
        page = ui.get("/ui/signin")  # signing in changes the token


def test_a_removed_key_ends_its_sessions(
    ui: TestClient, app_settings: Settings, service: TriageService
) -> None:
    sign_in(ui)
    cookie = ui.cookies.get("triage_ui")
    fewer = app_settings.model_copy(update={"api_keys": KEYS[1:]})
    with TestClient(create_app(fewer, service=service)) as other:
        other.cookies.set("triage_ui", cookie or "")
        assert other.get("/ui/", follow_redirects=False).status_code == 303
    with TestClient(create_app(app_settings, service=service)) as same:  # another worker
        same.cookies.set("triage_ui", cookie or "")
        assert same.get("/ui/").status_code == 200


def test_triage_shows_labels_decisions_terms_and_similar_tickets(ui: TestClient) -> None:
    sign_in(ui)
    page = triage(ui, ticket_id="INC-42", **VPN)
    assert page.status_code == 200
    for head in ("category", "tier"):
        assert f'id="head-{head}"' in page.text
        assert hidden(page, f"decision.{head}") in ("auto", "suggest", "review")
        assert 0.0 <= float(hidden(page, f"confidence.{head}")) <= 1.0
    assert '<ul class="terms">' in page.text  # the explanation's words
    similar = page.text.split('id="similar"')[1]
    assert "R-VPN" in similar
    assert similar.index("R-VPN") < similar.index("R-MAIL")
    assert "Updated the VPN client to 7.2." in similar
    # The top match's resolution is open, the others folded; scores come with words.
    assert similar.count("<details open>") == 1
    assert similar.index("<details open>") < similar.index("R-VPN") < similar.index("<details>")
    assert "Similarity runs from 0 (unrelated) to 1" in page.text
    assert re.search(r'class="band (same|close|related|loose)"', similar)
    assert "decided automatically at" in page.text or "never decided automatically" in page.text
    assert "auto from" not in page.text
    # Internal resolutions are for admins only, as in the API.
    assert "Cleared the cached credentials" not in similar
    assert "Internal resolution, shown to admins only" in similar


def test_an_admin_sees_internal_resolutions(ui: TestClient) -> None:
    sign_in(ui, ADMIN_KEY)
    page = triage(ui, ticket_id="INC-42", subject="Outlook password prompt keeps coming back")
    assert "Cleared the cached credentials in Windows Credential Manager." in page.text


def test_correcting_the_tier_stores_feedback_and_shows_it(
    ui: TestClient, app_settings: Settings, service: TriageService
) -> None:
    sign_in(ui)
    page = triage(ui, ticket_id="INC-42", **VPN)
    predicted_tier = hidden(page, "predicted.tier")
    predicted_category = hidden(page, "predicted.category")
    corrected = next(label for label in service.model.labels("tier") if label != predicted_tier)
    action = re.search(r'action="(/ui/tickets/\d+/feedback)"', page.text)
    assert action
    form = {
        "csrf": csrf(page),
        "model_version": hidden(page, "model_version"),
        "head": ["category", "tier"],
        "action": "correct",
        "final.category": predicted_category,
        "final.tier": corrected,
        **{
            f"{field}.{head}": hidden(page, f"{field}.{head}")
            for field in ("predicted", "decision", "confidence")
            for head in ("category", "tier")
        },
    }
    saved = ui.post(action.group(1), data=form)
    assert saved.status_code == 200
    assert "Feedback saved." in saved.text
    assert f"Staff chose {corrected} (corrected from {predicted_tier})" in saved.text
    # The select shows the saved label, not the model's again (the page looks saved).
    tier_select = saved.text.split('id="final-tier"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]+)" selected>', tier_select) == [corrected]

    stored = stored_feedback(app_settings)
    assert (stored["tier"].predicted, stored["tier"].final) == (predicted_tier, corrected)
    assert stored["tier"].model_version == service.model.version
    assert stored["tier"].decision == hidden(page, "decision.tier")
    assert (stored["category"].predicted, stored["category"].final) == (
        predicted_category,
        predicted_category,
    )
    queue = ui.get("/ui/queue?show=all")
    assert "INC-42" in queue.text
    assert "reviewed" in queue.text
    assert "INC-42" not in ui.get("/ui/queue").text  # the default queue: awaiting staff


def test_accept_keeps_every_predicted_label(ui: TestClient, app_settings: Settings) -> None:
    sign_in(ui)
    page = triage(ui, ticket_id="INC-42", **VPN)
    action = re.search(r'action="(/ui/tickets/\d+/feedback)"', page.text)
    assert action
    form: dict[str, Any] = {
        "csrf": csrf(page),
        "model_version": hidden(page, "model_version"),
        "head": ["category", "tier"],
        "action": "accept",
        "final.tier": "something else",  # ignored: accept takes the shown labels
    }
    for head in ("category", "tier"):
        for field in ("predicted", "decision", "confidence"):
            form[f"{field}.{head}"] = hidden(page, f"{field}.{head}")
    assert ui.post(action.group(1), data=form).status_code == 200
    stored = stored_feedback(app_settings)
    assert {head: (f.predicted == f.final) for head, f in stored.items()} == {
        "category": True,
        "tier": True,
    }


def test_posts_without_the_session_token_are_refused_and_change_nothing(
    ui: TestClient, app_settings: Settings
) -> None:
    sign_in(ui)
    refused = ui.post("/ui/triage", data={"csrf": "forged", "ticket_id": "INC-9", **VPN})
    assert refused.status_code == 403
    page = triage(ui, ticket_id="INC-42", **VPN)
    action = re.search(r'action="(/ui/tickets/\d+/feedback)"', page.text)
    assert action
    form = {
        "head": "tier",
        "predicted.tier": "L1",
        "final.tier": "L3",
        "model_version": "v",
        "action": "correct",
    }
    assert ui.post(action.group(1), data=form).status_code == 403
    assert ui.post(action.group(1), data={**form, "csrf": "forged"}).status_code == 403
    assert stored_feedback(app_settings) == {}
    with Database(app_settings.database()) as database:
        assert [e.ticket_id for e in TriagedStore(database).recent()] == ["INC-42"]


def test_a_key_without_the_feedback_scope_may_look_but_not_decide(
    ui: TestClient, app_settings: Settings
) -> None:
    sign_in(ui, VIEWER_KEY)
    page = triage(ui, ticket_id="INC-42", **VPN)
    assert 'id="accept"' not in page.text
    assert "lacks the feedback scope" in page.text
    action = re.search(r'action="(/ui/tickets/\d+/feedback)"', page.text)
    assert action
    form = {
        "csrf": csrf(page),
        "head": "tier",
        "predicted.tier": "L1",
        "final.tier": "L3",
        "model_version": "v",
        "action": "correct",
    }
    assert ui.post(action.group(1), data=form).status_code == 403
    assert stored_feedback(app_settings) == {}
    assert "Live quality needs a key with the feedback scope." in ui.get("/ui/queue").text


def test_a_ticket_without_text_is_asked_for_again(ui: TestClient) -> None:
    sign_in(ui)
    page = ui.get("/ui/")
    response = ui.post(
        "/ui/triage", data={"csrf": csrf(page), "ticket_id": "INC-5", "subject": " "}
    )
    assert response.status_code == 422
    assert "Enter a subject or a description." in response.text
    assert 'value="INC-5"' in response.text


def test_triage_without_an_id_is_logged_under_its_own_id_and_not_kept_as_open(
    ui: TestClient, app_settings: Settings
) -> None:
    sign_in(ui)
    triage(ui, **VPN)
    with Database(app_settings.database()) as database:
        [entry] = TriagedStore(database).recent()
        with database.begin() as connection:
            open_tickets = connection.execute(
                sa.text("SELECT count(*) FROM tickets WHERE status = 'open'")
            ).scalar_one()
    assert entry.ticket_id.startswith("ui-")
    assert entry.source == "ui"
    assert open_tickets == 0


def test_the_queue_filters_by_decision_category_and_tier(
    ui: TestClient, app_settings: Settings
) -> None:
    with Database(app_settings.database()) as database:
        store = TriagedStore(database)
        for ticket_id, category, c_decision, tier, t_decision in [
            ("Q-1", "printers", "auto", "L1", "auto"),
            ("Q-2", "printers", "auto", "L2", "review"),
            ("Q-3", "email", "review", "L1", "suggest"),
            ("Q-4", "email", "suggest", "L1", "suggest"),
        ]:
            store.record(
                ticket_id=ticket_id,
                subject=f"subject {ticket_id}",
                body="",
                model_version="v1",
                predictions={
                    "category": HeadOutcome(category, 0.9, 0.8, c_decision),
                    "tier": HeadOutcome(tier, 0.7, 0.9, t_decision),
                },
                source="api",
            )
    sign_in(ui)

    def shown(query: str) -> list[str]:
        page = ui.get(f"/ui/queue?{query}")
        assert page.status_code == 200
        return re.findall(r"subject (Q-\d)", page.text)

    assert shown("") == ["Q-4", "Q-3", "Q-2", "Q-1"]
    assert shown("decision=review") == ["Q-3", "Q-2"]
    assert shown("decision=review&tier=L1") == ["Q-3"]
    assert shown("category=email&tier=L1") == ["Q-4", "Q-3"]
    assert shown("decision=nonsense&tier=L9") == ["Q-4", "Q-3", "Q-2", "Q-1"]
    # One badge per head: a ticket whose category was auto shows it, whatever its tier.
    rows = ui.get("/ui/queue").text.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    badges = [re.findall(r'class="badge (\w+)"', row) for row in rows]
    assert all(len(b) == 2 for b in badges), badges
    assert ["auto", "review"] in badges  # category auto, tier review
    tabs = ui.get("/ui/queue?tier=L1").text
    assert re.search(r'review <span class="count">1</span>', tabs)
    assert re.search(r'suggest <span class="count">1</span>', tabs)
    assert re.search(r'auto <span class="count">1</span>', tabs)


def test_the_queue_charts_precision_and_coverage_of_the_last_seven_days(
    ui: TestClient, app_settings: Settings
) -> None:
    with Database(app_settings.database()) as database:
        FeedbackStore(database).add(
            [
                Feedback("F-1", "tier", "L1", "L1", "v1", "auto", 0.95),
                Feedback("F-2", "tier", "L1", "L2", "v1", "suggest", 0.6),
                Feedback("F-3", "tier", "L2", "L2", "v1", "auto", 0.97),
                Feedback("F-4", "tier", "L2", "L2", "v1", "review", 0.3),
                Feedback("F-OLD", "tier", "L1", "L3", "v1", "review", 0.3),
            ]
        )
        with database.begin() as connection:  # one answer from three days ago, one too old
            for ticket_id, days in (("F-4", 3), ("F-OLD", 9)):
                connection.execute(
                    feedback_table.update()
                    .where(feedback_table.c.ticket_id == ticket_id)
                    .values(updated_at=utcnow() - timedelta(days=days))
                )
    sign_in(ui)
    page = ui.get("/ui/queue").text
    quality = page.split('id="quality"')[1]
    assert 'id="quality-tier"' in quality
    # Seven days: 4 answers, 3 kept (75 %), 2 of 4 decided automatically (50 %).
    assert "Precision <b>75%</b>" in quality
    assert "Coverage <b>50%</b>" in quality
    assert "4 feedback" in quality
    assert quality.count("<polyline") >= 2
    assert len(re.findall(r"<tr><td>\d{4}-\d\d-\d\d</td>", quality)) == 7


def test_post_v1_triage_with_an_id_puts_the_ticket_in_the_queue(
    ui: TestClient, app_settings: Settings
) -> None:
    headers = {"X-API-Key": STAFF_KEY}
    assert ui.post("/v1/triage", json={**VPN, "id": "API-1"}, headers=headers).status_code == 200
    assert ui.post("/v1/triage", json=VPN, headers=headers).status_code == 200
    body = {**VPN, "id": "API-2", "remember": False}
    assert ui.post("/v1/triage", json=body, headers=headers).status_code == 200
    with Database(app_settings.database()) as database:
        [entry] = TriagedStore(database).recent()
    assert (entry.ticket_id, entry.source, entry.subject) == ("API-1", "api", VPN["subject"])
    sign_in(ui)
    assert "API-1" in ui.get("/ui/queue").text
    page = ui.get(f"/ui/tickets/{entry.id}")
    assert "R-VPN" in page.text
    assert "via the API" in page.text


def test_deleting_a_ticket_forgets_its_triage_too(ui: TestClient, app_settings: Settings) -> None:
    sign_in(ui)
    triage(ui, ticket_id="INC-42", **VPN)
    deleted = ui.delete("/v1/tickets/INC-42", headers={"X-API-Key": ADMIN_KEY})
    assert deleted.status_code == 200
    with Database(app_settings.database()) as database:
        assert TriagedStore(database).recent() == []
    assert ui.delete("/v1/tickets/INC-42", headers={"X-API-Key": ADMIN_KEY}).status_code == 404


def test_bahasa_indonesia_by_switch_or_by_browser_language(ui: TestClient) -> None:
    sign_in(ui)
    page = ui.get("/ui/queue")
    switched = ui.post(
        "/ui/lang", data={"csrf": csrf(page), "lang": "id", "next": "/ui/queue?show=all"}
    )
    assert switched.status_code == 200
    assert str(switched.url).endswith("/ui/queue?show=all")
    assert '<html lang="id">' in switched.text
    assert "Tiket yang sudah ditriase" in switched.text
    assert 'aria-pressed="true">Bahasa Indonesia' in switched.text
    with TestClient(ui.app) as fresh:
        signin = fresh.get("/ui/signin", headers={"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"})
        assert '<html lang="id">' in signin.text
        assert "Kunci API" in signin.text


def test_an_open_api_needs_no_sign_in(settings: Settings, service: TriageService) -> None:
    with TestClient(create_app(settings, service=service)) as client:
        page = client.get("/ui/")
        assert page.status_code == 200
        assert "Open API, no keys configured" in page.text
        assert triage(client, ticket_id="INC-42", **VPN).status_code == 200


def test_ticket_text_is_escaped(ui: TestClient) -> None:
    sign_in(ui)
    page = triage(ui, ticket_id="INC-<b>", subject="<script>alert(1)</script> VPN drops")
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; VPN drops" in page.text
    assert "INC-&lt;b&gt;" in ui.get("/ui/queue").text


def test_pages_load_nothing_from_elsewhere_and_are_not_cached(ui: TestClient) -> None:
    sign_in(ui)
    page = triage(ui, ticket_id="INC-42", **VPN)
    for response in (page, ui.get("/ui/queue"), ui.get("/ui/")):
        assert not re.search(r'(src|href)="(https?:)?//', response.text)
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
    css = ui.get("/ui/static/ui.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text
    assert "url(" not in css.text
    assert ui.get("/ui/static/ui.js").status_code == 200
    assert ui.get("/ui/static/../app.py").status_code == 404
    assert ui.get("/ui/static/nope.css").status_code == 404
    assert "/ui" not in str(ui.get("/openapi.json").json()["paths"])


def test_failed_sign_ins_are_logged_and_then_refused_for_a_while(
    ui: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Before: 300 wrong keys in 0.7 s, then the right one worked; nothing was logged."""
    from triage.api.staff.throttle import FREE

    with caplog.at_level("WARNING", logger="triage.signin"):
        for _ in range(FREE):
            assert sign_in(ui, "trg_guess").status_code == 401
        refused = sign_in(ui, STAFF_KEY)  # the right key too, until the window has passed
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in refused.text
    failures = [r.getMessage() for r in caplog.records if "failed sign-in" in r.getMessage()]
    assert len(failures) == FREE
    assert all("trg_guess" not in line for line in failures)
    assert ui.get("/ui/", follow_redirects=False).status_code == 303  # still signed out


def test_signing_out_ends_every_copy_of_the_session(ui: TestClient) -> None:
    """Before: sign-out replaced the browser's cookie only; a copy stayed signed in."""
    signed_in = sign_in(ui)
    copied = signed_in.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    page = ui.get("/ui/")
    assert "Signed in as lina" in page.text
    out = ui.post("/ui/signout", data={"csrf": csrf(page)}, follow_redirects=False)
    assert out.status_code == 303
    ui.cookies.clear()
    ui.cookies.set("triage_ui", copied)  # the cookie as it was before signing out
    assert ui.get("/ui/", follow_redirects=False).status_code == 303  # to the sign-in page
    ui.cookies.clear()
    assert sign_in(ui).status_code == 303  # a new sign-in is a new session
    assert "Signed in as lina" in ui.get("/ui/").text


def test_the_queue_shows_open_incidents_at_the_top(ui: TestClient) -> None:
    sign_in(ui)
    assert "No open incident." in ui.get("/ui/queue").text
    for i in range(5):
        triage(ui, ticket_id=f"SURGE-{i}", **VPN)
    page = ui.get("/ui/queue").text
    panel = page[page.index('id="incidents-title"') : page.index('id="queue-title"')]
    assert "5 tickets" in panel
    assert "vpn" in panel
    assert "SURGE-" in panel  # the suggested parent
    page = ui.get("/ui/queue")
    switched = ui.post(
        "/ui/lang", data={"csrf": csrf(page), "lang": "id", "next": "/ui/queue"}
    ).text
    assert "Insiden terbuka" in switched
    assert "5 tiket" in switched


def test_an_admin_confirms_and_dismisses_an_incident_from_the_panel(ui: TestClient) -> None:
    """Before: the panel only showed incidents; its actions were API-only."""
    sign_in(ui)
    for i in range(5):
        triage(ui, ticket_id=f"SURGE-{i}", **VPN)
    page = ui.get("/ui/queue")
    assert "/dismiss" not in page.text  # lina's key has no admin scope: no buttons
    incident = int(page.text.split("<strong>#")[1].split("<")[0])
    refused = ui.post(f"/ui/incidents/{incident}/confirm", data={"csrf": csrf(page)})
    assert refused.status_code == 403
    ui.cookies.clear()
    sign_in(ui, ADMIN_KEY)
    page = ui.get("/ui/queue")
    assert f'action="/ui/incidents/{incident}/confirm"' in page.text
    confirmed = ui.post(f"/ui/incidents/{incident}/confirm", data={"csrf": csrf(page)})
    assert confirmed.status_code == 200  # back on the queue
    panel = confirmed.text[confirmed.text.index('id="incidents-title"') :]
    assert "confirmed" in panel.split('id="queue-title"')[0]
    again = ui.post(f"/ui/incidents/{incident}/confirm", data={"csrf": csrf(page)})
    assert again.status_code == 409
    assert "already confirmed" in again.text
    dismissed = ui.post(f"/ui/incidents/{incident}/dismiss", data={"csrf": csrf(page)})
    assert "No open incident." in dismissed.text
    forged = ui.post(f"/ui/incidents/{incident}/dismiss", data={"csrf": "forged"})
    assert forged.status_code == 403


def test_the_ticket_page_shows_the_route_and_why(ui: TestClient, service: TriageService) -> None:
    table = "rules:\n  - id: vpn-words\n    when: {keywords: [vpn]}\n    group: network\n"
    admin = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/yaml"}
    try:
        assert ui.put("/v1/routing", content=table, headers=admin).status_code == 200
        sign_in(ui)
        page = triage(ui, ticket_id="INC-77", **VPN)
        route = page.text.split('id="route"')[1].split("</div>")[0]
        assert '<span id="route-group">network</span>' in route
        assert "queue network" in route
        assert "by rule vpn-words" in route
        assert "language:en" in route
        assert "rule &#39;vpn-words&#39; matched" in route
        switched = ui.post(
            "/ui/lang", data={"csrf": csrf(page), "lang": "id", "next": str(page.url.path)}
        )
        assert "oleh aturan vpn-words" in switched.text
    finally:
        service.routing = type(service.routing)()


def test_the_ticket_page_names_the_suggested_agent(ui: TestClient, service: TriageService) -> None:
    roster = {
        "agents": [
            {
                "id": "a-7",
                "name": "Sari",
                "groups": ["triage"],
                "languages": ["en"],
                "open_tickets": 4,
            }
        ]
    }
    admin = {"X-API-Key": ADMIN_KEY}
    try:
        assert ui.put("/v1/agents", json=roster, headers=admin).status_code == 200
        sign_in(ui)
        page = triage(ui, ticket_id="INC-78", **VPN)
        route = page.text.split('id="route"')[1].split("</div>")[0]
        assert "suggested agent: Sari (4 open tickets" in route
        switched = ui.post(
            "/ui/lang", data={"csrf": csrf(page), "lang": "id", "next": str(page.url.path)}
        )
        assert "agen yang disarankan: Sari (4 tiket terbuka" in switched.text
    finally:
        service.agents = type(service.agents)()

"""The staff page end to end in a real headless Chromium, driven by Selenium.

Debian's ``chromium`` and ``chromium-driver`` (``make browser`` installs them): nothing is
downloaded. Without them the test is skipped on a developer's machine and fails on CI.
Screenshots go to the test's tmp directory and, for the documentation, to docs/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.conftest import ROOT
from triage.api.app import create_app
from triage.core.auth import ApiKey, Scope, hash_key
from triage.service import TriageService
from triage.settings import Settings
from triage.store.database import Database
from triage.store.feedback import Feedback, FeedbackStore
from triage.store.schema import feedback as feedback_table
from triage.store.schema import utcnow

SURGE = "GlobalProtect says the VPN gateway is unreachable, I cannot connect "
SURGE_PLACES = (
    "from home",
    "from the Jakarta office",
    "at the airport",
    "from home again",
    "today",
)
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "docs" / "screenshots"
STAFF_KEY = "trg_lina-staff-key"
HELPDESK_KEY = "trg_helpdesk-integration"
RESOLVED = [
    {
        "id": "INC-0912",
        "subject": "VPN disconnects every hour",
        "body": "The VPN client drops the connection about once an hour since the update.",
        "resolution": "Updated the GlobalProtect client to 6.2.1; the keep-alive bug is fixed "
        "there. Told the user to reconnect once after the update.",
        "category": "network_vpn",
        "tier": "L1",
        "resolved_at": (utcnow() - timedelta(days=9)).isoformat(),
    },
    {
        "id": "INC-0877",
        "subject": "VPN connects but no internal sites load",
        "body": "Connected to VPN, but intranet and file shares time out.",
        "resolution": "Split-tunnel DNS was missing after the profile push; re-applied the VPN "
        "profile from the admin console.",
        "category": "network_vpn",
        "tier": "L2",
        "resolved_at": (utcnow() - timedelta(days=23)).isoformat(),
    },
    {
        "id": "INC-0790",
        "subject": "Wi-Fi drops in meeting room 4",
        "body": "Laptops lose the office Wi-Fi every few minutes in room 4.",
        "resolution": "Access point 4B had a failing radio; replaced it.",
        "category": "network_vpn",
        "tier": "L2",
        "resolved_at": (utcnow() - timedelta(days=41)).isoformat(),
    },
    {
        "id": "INC-0655",
        "subject": "Outlook keeps asking for my password",
        "body": "Outlook prompts for credentials again and again after the password change.",
        "resolution": "Cleared the cached credentials in Windows Credential Manager.",
        "category": "email",
        "tier": "L1",
        "resolved_at": (utcnow() - timedelta(days=3)).isoformat(),
    },
]
# Tickets the helpdesk sent through POST /v1/triage: clear ones and vague ones.
INCOMING = [
    ("Printer on 3rd floor jams", "Every job since this morning stops with a paper jam in tray 2."),
    (
        "Can't log in after password reset",
        "Since yesterday's reset Windows says my password is wrong.",
    ),
    (
        "Need access to the finance share",
        "Please give me read access to the finance share for the audit.",
    ),
    (
        "Laptop battery drains in an hour",
        "My ThinkPad battery goes from 100% to 0 in about an hour.",
    ),
    (
        "Suspicious email with invoice attachment",
        "Unknown sender, invoice.zip attached. I did not open it.",
    ),
    ("Install Visio", "I need Microsoft Visio for a project starting next week."),
    ("Something is wrong", "It does not work since this morning, please help."),
    ("Question", "Who do I ask about this?"),
    ("Teams calls drop", "Teams calls drop after a few minutes when I am on VPN."),
    ("Monitor flickers", "The second monitor flickers and goes black every few seconds."),
    ("Shared mailbox missing", "The support@ shared mailbox disappeared from my Outlook."),
    (
        "Database backup failed",
        "The nightly backup job for the CRM database failed with error 0x80070005.",
    ),
    ("New starter on Monday", "Please set up an account and laptop for our new colleague."),
    ("Slow computer", "Everything is slow."),
    ("Cannot print PDF", "PDFs come out blank on the HR printer, Word documents are fine."),
    ("Phishing?", "Is this link safe?"),
]
NEW_TICKET = {
    "ticket_id": "INC-1042",
    "subject": "VPN keeps disconnecting since this morning",
    "body": "My VPN drops every hour or so and I have to log in again. Started after the "
    "update on Monday.",
}


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (dev extra)")
    if missing:
        reason = f"{', '.join(missing)} absent: `make browser` installs Debian's chromium and chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run on CI: {reason}")
        pytest.skip(reason)


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    keys = [
        ApiKey(name="lina", sha256=hash_key(STAFF_KEY), scopes={Scope.CLASSIFY, Scope.FEEDBACK}),
        ApiKey(name="helpdesk", sha256=hash_key(HELPDESK_KEY), scopes={Scope.ADMIN}),
    ]
    return settings.model_copy(
        update={"api_keys": keys, "jobs_worker": False, "model_watch_seconds": 0}
    )


def _seed(app_settings: Settings, service: TriageService) -> None:
    """What a week of use leaves behind: resolved tickets, tickets the helpdesk sent
    through POST /v1/triage, and staff feedback spread over the last seven days."""
    with TestClient(create_app(app_settings, service=service)) as client:
        headers = {"X-API-Key": HELPDESK_KEY}
        assert (
            client.post(
                "/v1/tickets/resolved", json={"tickets": RESOLVED}, headers=headers
            ).status_code
            == 201
        )
        for i, (subject, body) in enumerate(INCOMING):
            ticket = {"id": f"INC-{1000 + i}", "subject": subject, "body": body}
            assert client.post("/v1/triage", json=ticket, headers=headers).status_code == 200
        for i, where in enumerate(SURGE_PLACES):  # the VPN goes down: an incident opens
            ticket = {"id": f"INC-{1100 + i}", "subject": "VPN down", "body": SURGE + where}
            assert client.post("/v1/triage", json=ticket, headers=headers).status_code == 200
    labels = {"category": service.model.labels("category"), "tier": service.model.labels("tier")}
    items = []
    for day in range(7):
        for n in range(6 + day % 3):
            for head, options in labels.items():
                predicted = options[(day + n) % len(options)]
                kept = (n + day) % 5 != 0
                final = predicted if kept else options[(day + n + 1) % len(options)]
                decision = ("auto", "suggest", "auto", "review")[(n + day) % 4]
                items.append(
                    (day, Feedback(f"W-{day}-{n}", head, predicted, final, "v", decision, 0.8))
                )
    with Database(app_settings.database()) as database:
        FeedbackStore(database).add([item for _, item in items])
        with database.begin() as connection:
            for day, item in items:
                connection.execute(
                    feedback_table.update()
                    .where(feedback_table.c.ticket_id == item.ticket_id)
                    .values(updated_at=utcnow() - timedelta(days=6 - day, minutes=5))
                )


@pytest.fixture
def live_server(app_settings: Settings, service: TriageService) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread."""
    _require_browser()
    _seed(app_settings, service)
    config = uvicorn.Config(
        create_app(app_settings, service=service), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
        "--lang=en-US",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
    )
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver: Any, tmp_path: Path, name: str, *, publish: bool = True) -> Path:
    """A 1280×800 screenshot in the test's directory.

    With TRIAGE_PUBLISH_SCREENSHOTS=1 the published ones are copied to docs/screenshots/ too
    (so a normal test run leaves the working tree as it was).
    """
    path = tmp_path / name
    assert driver.get_screenshot_as_file(str(path))
    if publish and os.environ.get("TRIAGE_PUBLISH_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / name)
    return path


@pytest.mark.slow  # about 8 s: a browser, a server and a week of data
def test_staff_triage_a_ticket_correct_its_tier_and_work_the_queue(
    live_server: str,
    browser: Any,
    app_settings: Settings,
    service: TriageService,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 15)
    visited: list[str] = []

    def find(css: str) -> Any:
        return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))

    # Sign in with the keyboard: the key goes in a POST body, never into a URL.
    browser.get(f"{live_server}/ui/")
    wait.until(ec.url_contains("/ui/signin"))
    visited.append(browser.current_url)
    find("#key").send_keys(STAFF_KEY, Keys.ENTER)
    find("#triage-form")
    visited.append(browser.current_url)
    [cookie] = [c for c in browser.get_cookies() if c["name"] == "triage_ui"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert STAFF_KEY not in cookie["value"]
    assert browser.execute_script("return document.cookie") == ""  # out of reach of scripts

    # Paste a ticket, submit with Ctrl+Enter from the description.
    for field in ("ticket_id", "subject", "body"):
        find(f"#{field}").send_keys(NEW_TICKET[field])
    find("#body").send_keys(Keys.CONTROL, Keys.ENTER)
    wait.until(ec.url_matches(r"/ui/tickets/\d+$"))
    visited.append(browser.current_url)

    # Category and tier with confidence, decision and the words behind them.
    for head in ("category", "tier"):
        box = find(f"#head-{head}")
        assert box.find_element(By.CSS_SELECTOR, ".predicted").text
        badge = box.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class")
        assert badge.split()[-1] in ("auto", "suggest", "review")
        assert 0 <= float(box.find_element(By.CSS_SELECTOR, "meter").get_attribute("value")) <= 1
    assert browser.find_elements(By.CSS_SELECTOR, ".terms li")

    # The most similar resolved tickets, with score and age; the top one's resolution is
    # open, the others unfold.
    similar = browser.find_elements(By.CSS_SELECTOR, "#similar > li")
    assert len(similar) >= 3
    first = similar[0]
    assert "INC-0912" in first.text
    assert "VPN disconnects every hour" in first.text
    assert "resolved 9 d ago" in first.text
    scores = [float(s.text) for s in browser.find_elements(By.CSS_SELECTOR, "#similar .score")]
    assert scores == sorted(scores, reverse=True)
    resolution = first.find_element(By.CSS_SELECTOR, ".resolution")
    assert resolution.is_displayed()
    assert "GlobalProtect client to 6.2.1" in resolution.text
    second = similar[1].find_element(By.CSS_SELECTOR, ".resolution")
    assert not second.is_displayed()
    similar[1].find_element(By.TAG_NAME, "summary").click()
    assert second.is_displayed()
    _screenshot(browser, tmp_path, "ui-ticket.png")

    # Correct the tier with the select, save: feedback is stored for both heads.
    predicted_category = find("#head-category .predicted").text
    predicted_tier = find("#head-tier .predicted").text
    corrected = next(label for label in service.model.labels("tier") if label != predicted_tier)
    Select(find("#final-tier")).select_by_value(corrected)
    find("#correct").click()
    find("#saved")
    visited.append(browser.current_url)
    assert f"corrected from {predicted_tier}" in find("#chosen-tier").text
    assert corrected in find("#chosen-tier").text
    # The select shows the saved label, so the page looks saved.
    assert Select(find("#final-tier")).first_selected_option.get_attribute("value") == corrected
    _screenshot(browser, tmp_path, "ui-corrected.png")
    with Database(app_settings.database()) as database:
        stored = FeedbackStore(database).for_ticket(NEW_TICKET["ticket_id"])
    assert (stored["tier"].predicted, stored["tier"].final) == (predicted_tier, corrected)
    assert (stored["category"].predicted, stored["category"].final) == (
        predicted_category,
        predicted_category,
    )
    assert stored["tier"].model_version == service.model.version

    # The queue: the reviewed ticket has left it; the review tab shows only reviews.
    browser.find_element(By.LINK_TEXT, "Queue").click()
    queue = find("#queue")
    visited.append(browser.current_url)
    assert NEW_TICKET["ticket_id"] not in queue.text
    assert "INC-1000" in queue.text
    quality = find("#quality")
    assert quality.find_elements(By.CSS_SELECTOR, "svg.chart polyline.precision")
    assert quality.find_elements(By.CSS_SELECTOR, "svg.chart polyline.coverage")
    assert "Precision" in quality.text
    assert "Coverage" in quality.text
    _screenshot(browser, tmp_path, "ui-queue.png")
    incidents = find(".incidents")
    assert "5 tickets" in incidents.text
    assert "vpn" in incidents.text

    tab = find(".tabs .tab-review")
    expected = int(tab.find_element(By.CSS_SELECTOR, ".count").text)
    tab.click()
    wait.until(ec.url_contains("decision=review"))
    shown = browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")
    assert expected > 0
    assert len(shown) == expected
    # One badge per head; a ticket is under review when any of its heads is.
    for row in shown:
        badges = [
            b.get_attribute("class").split()[-1]
            for b in row.find_elements(By.CSS_SELECTOR, ".badge")
        ]
        assert len(badges) == 2
        assert "review" in badges
    Select(find("#f-tier")).select_by_value("L1")
    find(".filters button").click()
    wait.until(ec.url_contains("tier=L1"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#queue tbody tr")
    assert 0 < len(rows) <= expected
    assert all(
        row.find_elements(By.XPATH, "./td[3][starts-with(normalize-space(), 'L1')]") for row in rows
    )
    _screenshot(browser, tmp_path, "ui-queue-review-l1.png", publish=False)

    # Bahasa Indonesia, by the switch in the header.
    browser.find_element(By.CSS_SELECTOR, 'button[lang="id"]').click()
    wait.until(lambda d: d.execute_script("return document.documentElement.lang") == "id")
    assert "Tiket yang sudah ditriase" in find("h1").text
    visited.append(browser.current_url)

    assert not [url for url in visited if STAFF_KEY in url]


ROUTING_TABLE = """\
fallback: service-desk
groups:
  network: {queue: network-l2, languages: [en], fallback: network-jakarta}
  network-jakarta: {queue: network-jakarta, languages: [en, id]}
rules:
  - id: vpn-and-network
    when: {category: network_vpn}
    group: network
    skills: [vpn-client]
  - id: vpn-words
    when: {keywords: [vpn, globalprotect]}
    group: network
"""


@pytest.mark.slow  # a browser and a server, as above
def test_the_ticket_page_shows_its_route(
    live_server: str, browser: Any, service: TriageService, tmp_path: Path
) -> None:
    import urllib.request

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    put = urllib.request.Request(
        f"{live_server}/v1/routing",
        data=ROUTING_TABLE.encode(),
        method="PUT",
        headers={"X-API-Key": HELPDESK_KEY, "Content-Type": "application/yaml"},
    )
    try:
        with urllib.request.urlopen(put, timeout=30) as answer:
            assert answer.status == 200
        wait = WebDriverWait(browser, 15)

        def find(css: str) -> Any:
            return wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, css)))

        browser.get(f"{live_server}/ui/")
        find("#key").send_keys(STAFF_KEY, Keys.ENTER)
        for field in ("ticket_id", "subject", "body"):
            find(f"#{field}").send_keys(NEW_TICKET[field])
        find("#body").send_keys(Keys.CONTROL, Keys.ENTER)
        wait.until(ec.url_matches(r"/ui/tickets/\d+$"))
        route = find("#route")
        assert find("#route-group").text == "network"
        assert "queue network-l2" in route.text
        assert "language:en" in find("#route-source").text
        assert "matched" in find("#route-why").text
        badge = route.find_element(By.CSS_SELECTOR, ".badge").get_attribute("class")
        assert badge.split()[-1] in ("auto", "suggest", "review")
        _screenshot(browser, tmp_path, "ui-route.png")
    finally:
        service.routing = type(service.routing)()

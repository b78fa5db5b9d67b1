"""Screenshots of the Reports tab in Bahasa Indonesia and of the leadership report.

A model trained on the sample data with the hashing stand-in embedder (the charts do not
depend on it), a year of synthetic history (benchmarks/reports_speed.py's tickets, moved to
end now), the app served on loopback, and Debian's Chromium driven by Selenium as
tests/ui/test_ui_browser.py drives it (``make browser`` installs it). Nothing is fetched.

    PYTHONPATH=. .venv/bin/python docs/screenshots/reports_screenshots.py
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import uvicorn

from benchmarks.reports_speed import END, ticket_events
from triage.api.app import create_app
from triage.api.staff.ops_page import render_ops_report
from triage.core.artifacts import load_model
from triage.core.embeddings import HashingEmbedder
from triage.service import TriageService
from triage.service.ops_summary import ops_report
from triage.service.reports import ReportService
from triage.settings import Settings
from triage.store.database import Database
from triage.store.events import EventStore
from triage.store.schema import utcnow
from triage.training.train import TrainConfig, train_from_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TICKETS = 12_000  # a year of them: about 33 a day


def _history(database: Database) -> None:
    shift = utcnow() - END
    rng = random.Random(7)
    events = [replace(e, at=e.at + shift) for n in range(TICKETS) for e in ticket_events(rng, n)]
    EventStore(database).add([e for e in events if e.at < utcnow()])


def _browser(height: int, lang: str):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--lang={lang}"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    return driver


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        trained = train_from_file(
            ROOT / "data" / "tickets.csv",
            HashingEmbedder(dim=128),
            config=TrainConfig(),
            models_dir=root / "models",
        )
        assert trained.path is not None
        settings = Settings(models_dir=root / "models", data_dir=root / "var", jobs_worker=False)
        with Database(settings.database()) as database:
            database.upgrade()
            _history(database)
            report = ops_report(ReportService(database), days=7, until=utcnow())
        for lang in ("en", "id"):
            html = render_ops_report(report, lang=lang, generated=utcnow())
            (root / f"ops-{lang}.html").write_text(html, encoding="utf-8")
        service = TriageService(load_model(trained.path))
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings, service=service), port=0, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            driver = _browser(1500, "id")
            driver.get(f"http://127.0.0.1:{port}/ui/reports?days=90")
            driver.save_screenshot(str(HERE / "reports-tab-id.png"))
            driver.quit()
            for lang in ("en", "id"):
                driver = _browser(1900, lang)
                driver.get((root / f"ops-{lang}.html").as_uri())
                driver.save_screenshot(str(HERE / f"ops-report-{lang}.png"))
                driver.quit()
        finally:
            server.should_exit = True
        print("wrote", *sorted(p.name for p in HERE.glob("*.png")))


if __name__ == "__main__":
    main()

"""The staff page's session cookie, its text and its chart, without a browser."""

from __future__ import annotations

import stat
import string
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from triage.api.staff.chart import DayQuality, line_chart
from triage.api.staff.cookie import SessionCodec, UiSession, load_secret
from triage.api.staff.i18n import TEXT, age, pick_language, translator

SECRET = b"0123456789abcdef0123456789abcdef"


def test_a_session_survives_the_round_trip_and_is_signed() -> None:
    codec = SessionCodec(SECRET)
    session = UiSession.new(lang="id", lifetime=3600).signed_in("ab" * 32, lifetime=3600)
    loaded = codec.load(codec.dump(session))
    assert loaded == replace(session, fresh=False)
    value = codec.dump(session)
    payload, signature = value.split(".")
    assert codec.load(payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature) is None
    assert SessionCodec(b"another secret of 32 bytes......").load(value) is None
    for junk in (None, "", "no-dot", "a.b", "...."):
        assert codec.load(junk) is None


def test_an_expired_session_is_none() -> None:
    codec = SessionCodec(SECRET)
    session = UiSession.new(lang="en", lifetime=3600)
    assert codec.load(codec.dump(replace(session, expires=int(time.time()) - 1))) is None


def test_signing_in_or_out_rotates_the_csrf_token() -> None:
    session = UiSession.new(lang="en", lifetime=60)
    signed_in = session.signed_in("ab" * 32, lifetime=60)
    assert signed_in.csrf != session.csrf
    assert signed_in.key_sha256 == "ab" * 32
    signed_out = signed_in.signed_out(lifetime=60)
    assert signed_out.csrf != signed_in.csrf
    assert signed_out.key_sha256 is None
    assert signed_out.lang == "en"
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok("")
    assert not session.csrf_ok(signed_in.csrf)


def test_the_secret_file_is_made_once_private_and_shared(tmp_path: Path) -> None:
    first = load_secret(None, tmp_path / "var")
    assert len(first) == 64
    path = tmp_path / "var" / "ui-session.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(None, tmp_path / "var") == first
    assert load_secret("configured-secret-value", tmp_path / "var") == b"configured-secret-value"
    with pytest.raises(ValueError, match="16 bytes"):
        SessionCodec(b"short")


def test_every_text_has_both_languages_and_the_same_placeholders() -> None:
    for key, (english, indonesian) in TEXT.items():
        assert english, key
        assert indonesian, key
        fields = [
            {f for _, f, _, _ in string.Formatter().parse(text) if f}
            for text in (english, indonesian)
        ]
        assert fields[0] == fields[1], key
    assert translator("id")("nav_queue") == "Antrean"
    assert translator("xx")("nav_queue") == "Queue"


def test_the_language_follows_the_browser_first() -> None:
    assert pick_language("id-ID,id;q=0.9,en-US;q=0.8") == "id"
    assert pick_language("en-GB,en;q=0.9,id;q=0.5") == "en"
    assert pick_language("fr-FR,in;q=0.8") == "id"
    assert pick_language(None) == "en"


def test_ages_read_naturally() -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    t = translator("en")
    assert age(now - timedelta(seconds=5), now, t) == "just now"
    assert age(now - timedelta(minutes=7), now, t) == "7 min ago"
    assert age(now - timedelta(hours=5), now, t) == "5 h ago"
    assert age(now - timedelta(days=9), now, t) == "9 d ago"
    assert age(now - timedelta(days=65), now, t) == "2 mo ago"
    assert age(now - timedelta(days=9), now, translator("id")) == "9 hari lalu"
    assert age(None, now, t) == ""


def test_the_chart_breaks_its_lines_on_days_without_feedback() -> None:
    days = [
        DayQuality(date(2026, 11, 23 + i), n, p, c)
        for i, (n, p, c) in enumerate(
            [(2, 1.0, 0.5), (3, 0.5, 0.0), (0, None, None), (1, 1.0, None), (0, None, None),
             (4, 0.75, 0.25), (2, 0.5, 1.0)]
        )
    ]  # fmt: skip
    chart = line_chart(days, width=360, height=150)
    precision, coverage = chart.series
    assert precision.name == "precision"
    assert len(precision.points) == 5
    assert len(precision.segments) == 3  # days 1-2, day 4, days 6-7
    assert len(coverage.segments) == 2
    assert len(coverage.points) == 4
    top = min(p.y for p in precision.points)
    bottom = max(p.y for p in coverage.points)
    assert top == chart.top
    assert bottom == chart.bottom
    xs = [x for x, _ in chart.x_ticks]
    assert xs == sorted(xs)
    assert xs[0] == chart.left
    assert xs[-1] == chart.right
    assert next(label for _, label in chart.x_ticks) == "23/11"

"""The leadership report as one self-contained HTML file: the staff page's styles inlined,
charts drawn as SVG in the page, no script and nothing fetched from elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import triage
from triage.api.staff.i18n import Translator, translator
from triage.api.staff.report_chart import volume_chart
from triage.api.staff.responses import STAFF_DIR, templates
from triage.service.ops_summary import Change, OpsReport

_EXTRA_CSS = """
main { max-width: 1100px; margin: 0 auto; }
section.card { margin: 14px 0; }
.changes li.better { color: var(--auto); }
.changes li.worse { color: var(--review); }
td.better { color: var(--auto); }
td.worse { color: var(--review); }
table.numbers th:first-child, table.numbers td:first-child { text-align: left; }
"""


@dataclass(frozen=True)
class ChangeLine:
    """One headline figure, written out for people."""

    figure: str
    current: str
    previous: str
    change: str
    trend: str
    sentence: str | None  # for a notable change only


def _decimal(value: float, digits: int, lang: str) -> str:
    text = f"{value:,.{digits}f}"
    if lang == "id":  # 1.234,5
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def _value(change: Change, value: float | None, lang: str) -> str:
    if value is None:
        return "–"
    if change.is_share:
        return _decimal(100 * value, 1, lang) + " %"
    if change.figure.endswith("hours"):
        return _decimal(value, 1, lang)
    return _decimal(value, 0, lang)


def _change(change: Change, t: Translator, lang: str) -> str:
    if change.delta is None:
        return "–"
    sign = "+" if change.delta > 0 else "−" if change.delta < 0 else "±"
    if change.is_share:
        return t("ops_points", value=sign + _decimal(100 * abs(change.delta), 1, lang))
    if change.relative is None:
        return sign + _value(change, abs(change.delta), lang)
    percent = 100 * abs(change.relative)
    return sign + _decimal(percent, 0 if percent >= 1 else 1, lang) + " %"  # not "−0 %"


def change_lines(report: OpsReport, lang: str) -> list[ChangeLine]:
    t = translator(lang)
    lines = []
    for change in report.changes:
        figure = t(f"ops_fig_{change.figure}")
        values = {
            "current": _value(change, change.current, lang),
            "previous": _value(change, change.previous, lang),
            "change": _change(change, t, lang),
        }
        sentence = None
        if change.notable and change.delta is not None:
            words = t("ops_up" if change.delta > 0 else "ops_down", figure=figure, **values)
            sentence = f"{words} {t('ops_' + str(change.trend)).capitalize()}."
        lines.append(
            ChangeLine(figure=figure, trend=change.trend or "", sentence=sentence, **values)
        )
    return lines


def render_ops_report(report: OpsReport, *, lang: str, generated: datetime) -> str:
    """The whole HTML document, in ``lang`` (en or id)."""
    css = (STAFF_DIR / "static" / "ui.css").read_text(encoding="utf-8") + _EXTRA_CSS
    template = templates().env.get_template("ops_report.html")
    return template.render(
        t=translator(lang),
        lang=lang,
        css=css,
        report=report,
        lines=change_lines(report, lang),
        chart=volume_chart(report.volume.rows),
        days=(report.until - report.since).days,
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        version=triage.__version__,
    )

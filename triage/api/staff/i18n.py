"""The staff page's text in English and Bahasa Indonesia."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from triage.api.staff.cookie import LANGUAGES

Translator = Callable[..., str]

LANGUAGE_NAMES = {"en": "English", "id": "Bahasa Indonesia"}

TEXT: dict[str, tuple[str, str]] = {
    # key: (English, Bahasa Indonesia)
    "skip": ("Skip to content", "Lewati ke konten"),
    "nav": ("Main", "Utama"),
    "nav_ticket": ("Ticket", "Tiket"),
    "nav_queue": ("Queue", "Antrean"),
    "nav_reports": ("Reports", "Laporan"),
    "reports_title": ("Reports on the helpdesk's work", "Laporan kerja helpdesk"),
    "reports_period": ("Period", "Periode"),
    "reports_last_days": ("Last {days} days", "{days} hari terakhir"),
    "reports_numbers": ("The numbers", "Angkanya"),
    "reports_csv": ("Download CSV", "Unduh CSV"),
    "reports_empty": ("Nothing in this period.", "Tidak ada data pada periode ini."),
    "no_reports_scope": (
        "Your key lacks the reports scope.",
        "Kunci Anda tidak memiliki cakupan reports.",
    ),
    "report_volume": ("Volume: new, resolved and backlog", "Volume: baru, selesai, dan tunggakan"),
    "ops_title": ("Helpdesk report", "Laporan helpdesk"),
    "ops_period": (
        "{since} to {until} ({days} days), against the {days} days before.",
        "{since} sampai {until} ({days} hari), dibandingkan {days} hari sebelumnya.",
    ),
    "ops_summary": ("What changed", "Apa yang berubah"),
    "ops_no_change": (
        "No headline figure moved by 10 % (or 5 points) or more.",
        "Tidak ada angka utama yang bergeser 10 % (atau 5 poin) atau lebih.",
    ),
    "ops_up": (
        "{figure} rose from {previous} to {current} ({change}).",
        "{figure} naik dari {previous} menjadi {current} ({change}).",
    ),
    "ops_down": (
        "{figure} fell from {previous} to {current} ({change}).",
        "{figure} turun dari {previous} menjadi {current} ({change}).",
    ),
    "ops_better": ("better", "lebih baik"),
    "ops_worse": ("worse", "lebih buruk"),
    "ops_figure": ("Figure", "Angka"),
    "ops_current": ("This period", "Periode ini"),
    "ops_previous": ("Previous period", "Periode sebelumnya"),
    "ops_change": ("Change", "Perubahan"),
    "ops_points": ("{value} points", "{value} poin"),
    "ops_generated": ("Written {at} by triage {version}.", "Dibuat {at} oleh triage {version}."),
    "ops_fig_new": ("New tickets", "Tiket baru"),
    "ops_fig_resolved": ("Tickets resolved", "Tiket selesai"),
    "ops_fig_backlog": ("Open at the end", "Terbuka di akhir periode"),
    "ops_fig_median_hours": ("Median hours to resolve", "Median jam penyelesaian"),
    "ops_fig_share_resolved_at_l1": ("Resolved at L1", "Selesai di L1"),
    "ops_fig_rate_l1_l2": ("Escalated L1→L2", "Dieskalasi L1→L2"),
    "ops_fig_share_reopened": ("Reopened", "Dibuka lagi"),
    "ops_fig_share_auto": ("Decided automatically", "Diputuskan otomatis"),
    "ops_fig_share_deflectable": (
        "With a close resolved match",
        "Dengan padanan selesai yang dekat",
    ),
    "report_volume_hint": (
        "Bars: tickets created and resolved in each period; line: tickets open at its end.",
        "Batang: tiket dibuat dan diselesaikan per periode; garis: tiket terbuka di akhir periode.",
    ),
    "report_resolution": ("Time to resolve, by tier", "Waktu penyelesaian, per tingkat"),
    "report_escalation": ("Escalation", "Eskalasi"),
    "report_backlog": ("Open tickets by age", "Tiket terbuka menurut umur"),
    "report_staff": ("Staff work, by agent", "Kerja staf, per agen"),
    "report_automation": ("Automation, by head", "Otomatisasi, per kepala"),
    "report_deflection": ("Deflection potential", "Potensi swalayan"),
    "col_period": ("Period", "Periode"),
    "col_category": ("Category", "Kategori"),
    "col_tier": ("Tier", "Tingkat"),
    "col_priority": ("Priority", "Prioritas"),
    "col_group": ("Group", "Grup"),
    "col_agent": ("Agent", "Agen"),
    "col_language": ("Language", "Bahasa"),
    "col_channel": ("Channel", "Kanal"),
    "col_tenant": ("Tenant", "Penyewa"),
    "col_head": ("Head", "Kepala"),
    "col_source": ("Source", "Sumber"),
    "col_new": ("New", "Baru"),
    "col_resolved": ("Resolved", "Selesai"),
    "col_backlog": ("Backlog", "Tunggakan"),
    "col_median_hours": ("Median hours", "Median jam"),
    "col_p90_hours": ("p90 hours", "p90 jam"),
    "col_resolved_at_l1": ("Resolved at L1", "Selesai di L1"),
    "col_share_resolved_at_l1": ("Share at L1", "Porsi di L1"),
    "col_tickets": ("Tickets", "Tiket"),
    "col_started_at_l1": ("Started at L1", "Mulai di L1"),
    "col_escalated_from_l1": ("Escalated from L1", "Dieskalasi dari L1"),
    "col_rate_l1_l2": ("Rate L1→L2", "Rasio L1→L2"),
    "col_reached_l2": ("Reached L2", "Sampai L2"),
    "col_escalated_from_l2": ("Escalated from L2", "Dieskalasi dari L2"),
    "col_rate_l2_l3": ("Rate L2→L3", "Rasio L2→L3"),
    "col_escalated": ("Escalated", "Dieskalasi"),
    "col_median_hours_to_escalate": ("Median hours to escalate", "Median jam ke eskalasi"),
    "col_p90_hours_to_escalate": ("p90 hours to escalate", "p90 jam ke eskalasi"),
    "col_resolved_with_prediction": ("Resolved, with a prediction", "Selesai, dengan prediksi"),
    "col_predicted_tier_differs": ("Predicted tier differed", "Tingkat prediksi berbeda"),
    "col_share_predicted_tier_differs": ("Share differed", "Porsi berbeda"),
    "col_open": ("Open", "Terbuka"),
    "col_under_1d": ("< 1 day", "< 1 hari"),
    "col_d1_3": ("1–3 days", "1–3 hari"),
    "col_d3_7": ("3–7 days", "3–7 hari"),
    "col_d7_30": ("7–30 days", "7–30 hari"),
    "col_over_30d": ("> 30 days", "> 30 hari"),
    "col_median_age_hours": ("Median age, hours", "Median umur, jam"),
    "col_oldest_age_hours": ("Oldest, hours", "Tertua, jam"),
    "col_waiting_review": ("Waiting for review", "Menunggu tinjauan"),
    "col_share_escalated": ("Share escalated", "Porsi dieskalasi"),
    "col_reopened": ("Reopened", "Dibuka lagi"),
    "col_share_reopened": ("Share reopened", "Porsi dibuka lagi"),
    "col_received": ("Received", "Diterima"),
    "col_auto": ("Decided auto", "Diputuskan otomatis"),
    "col_share_auto": ("Share auto", "Porsi otomatis"),
    "col_written_back": ("Written back", "Ditulis balik"),
    "col_reviewed": ("Reviewed by staff", "Ditinjau staf"),
    "col_kept": ("Kept", "Dipertahankan"),
    "col_corrected": ("Corrected", "Dikoreksi"),
    "col_share_kept": ("Share kept", "Porsi dipertahankan"),
    "col_triaged": ("Triaged", "Ditriase"),
    "col_with_match_score": ("Searched", "Dicari"),
    "col_deflectable": ("With a close match", "Dengan padanan dekat"),
    "col_share_deflectable": ("Share", "Porsi"),
    "language": ("Language", "Bahasa"),
    "signed_in_as": ("Signed in as {name}", "Masuk sebagai {name}"),
    "open_mode": ("Open API, no keys configured", "API terbuka, tanpa kunci"),
    "sign_out": ("Sign out", "Keluar"),
    "signin_title": ("Sign in", "Masuk"),
    "signin_intro": (
        "Sign in with your triage API key. The page keeps only a signed session cookie, "
        "never the key.",
        "Masuk dengan kunci API triage Anda. Halaman ini hanya menyimpan cookie sesi yang "
        "ditandatangani, tidak pernah kuncinya.",
    ),
    "api_key": ("API key", "Kunci API"),
    "signin_button": ("Sign in", "Masuk"),
    "signin_bad_key": ("That API key is not valid.", "Kunci API itu tidak valid."),
    "signin_throttled": (
        "Too many failed sign-ins from here: wait a minute, then try again.",
        "Terlalu banyak percobaan masuk yang gagal dari sini: tunggu satu menit, lalu coba lagi.",
    ),
    "signin_no_scope": (
        "This key lacks the classify scope this page needs.",
        "Kunci ini tidak memiliki cakupan classify yang dibutuhkan halaman ini.",
    ),
    "stale_form": (
        "This form has expired. Reload the page and try again.",
        "Formulir ini sudah kedaluwarsa. Muat ulang halaman lalu coba lagi.",
    ),
    "not_found": ("No such ticket in the queue.", "Tiket itu tidak ada di antrean."),
    "back": ("Back to the queue", "Kembali ke antrean"),
    "new_ticket": ("Triage a ticket", "Triase tiket"),
    "new_ticket_hint": (
        "Paste a ticket, or pick one from the queue.",
        "Tempel tiket, atau pilih satu dari antrean.",
    ),
    "ticket_id": ("Ticket id (optional)", "ID tiket (opsional)"),
    "subject": ("Subject", "Subjek"),
    "body": ("Description", "Deskripsi"),
    "triage_button": ("Triage", "Triase"),
    "submit_hint": ("Ctrl+Enter submits.", "Ctrl+Enter untuk mengirim."),
    "recent": ("Recently triaged", "Baru saja ditriase"),
    "empty_ticket": ("Enter a subject or a description.", "Isi subjek atau deskripsi."),
    "too_large": (
        "The ticket is too long: {size} characters, the limit is {limit}.",
        "Tiket terlalu panjang: {size} karakter, batasnya {limit}.",
    ),
    "triage_title": ("Triage", "Hasil triase"),
    "head_category": ("Category", "Kategori"),
    "head_tier": ("Tier", "Tier"),
    "confidence": ("confidence", "keyakinan"),
    "threshold": (
        "decided automatically at {value} or more",
        "diputuskan otomatis pada {value} atau lebih",
    ),
    "threshold_hint": (
        "Below that confidence a label is only a suggestion for staff to confirm; the bar "
        "fills toward it.",
        "Di bawah tingkat keyakinan itu, label hanya saran untuk dikonfirmasi staf; batang "
        "terisi menuju angka itu.",
    ),
    "no_threshold": (
        "never decided automatically: too few examples to be sure",
        "tidak pernah diputuskan otomatis: contoh terlalu sedikit untuk yakin",
    ),
    "decision_auto": ("auto", "otomatis"),
    "decision_suggest": ("suggest", "saran"),
    "decision_review": ("review", "tinjau"),
    "help_auto": ("confident enough to act on", "cukup yakin untuk langsung diterapkan"),
    "help_suggest": ("a suggestion: confirm it", "saran: mohon konfirmasi"),
    "help_review": ("the model abstains: triage by hand", "model abstain: triase manual"),
    "fallback": ("parent class (its children split the confidence)", "kelas induk"),
    "auto_blocked": ("not decided automatically", "tidak diputuskan otomatis"),
    "route_title": ("Route", "Rute"),
    "route_queue": ("queue {queue}", "antrean {queue}"),
    "route_skills": ("needs", "butuh"),
    "route_agent": (
        "suggested agent: {agent} ({open} open tickets, the fewest in the group with these skills)",
        "agen yang disarankan: {agent} ({open} tiket terbuka, paling sedikit di grup dengan "
        "keahlian ini)",
    ),
    "route_source_rule": ("by rule {rule}", "oleh aturan {rule}"),
    "route_source_model": ("proposed by the group model", "diusulkan oleh model grup"),
    "route_source_fallback": (
        "no rule matched: the fallback group",
        "tidak ada aturan yang cocok: grup cadangan",
    ),
    "route_correct": (
        "To correct the group, choose it under Group below and save.",
        "Untuk mengoreksi grup, pilih di bawah Grup lalu simpan.",
    ),
    "why": ("Words behind this label", "Kata yang mendukung label ini"),
    "decide_title": ("Your decision", "Keputusan Anda"),
    "accept": ("Accept suggestion", "Terima saran"),
    "correct": ("Save correction", "Simpan koreksi"),
    "correct_hint": (
        "Accept takes the labels shown; to correct, change a label and save.",
        "Terima memakai label yang ditampilkan; untuk mengoreksi, ubah label lalu simpan.",
    ),
    "saved": ("Feedback saved.", "Umpan balik tersimpan."),
    "staff_chose": ("Staff chose {label}", "Staf memilih {label}"),
    "kept": ("kept", "dipertahankan"),
    "corrected": ("corrected from {label}", "dikoreksi dari {label}"),
    "no_feedback_scope": (
        "Your key lacks the feedback scope: you can look, not accept or correct.",
        "Kunci Anda tidak memiliki cakupan feedback: Anda bisa melihat, tetapi tidak bisa "
        "menerima atau mengoreksi.",
    ),
    "model": ("model {version}", "model {version}"),
    "triaged_when": ("triaged {age}", "ditriase {age}"),
    "via_api": ("via the API", "lewat API"),
    "via_ui": ("on this page", "di halaman ini"),
    "via_email": ("by e-mail", "lewat email"),
    "similar_title": ("Similar resolved tickets", "Tiket serupa yang sudah selesai"),
    "similarity": ("similarity {value}", "kemiripan {value}"),
    "similarity_hint": (
        "Similarity runs from 0 (unrelated) to 1 (the same text): from 0.90 likely the same "
        "issue, from 0.75 very similar, from 0.60 similar, below that loosely related.",
        "Kemiripan dari 0 (tidak terkait) sampai 1 (teks yang sama): mulai 0,90 kemungkinan "
        "masalah yang sama, mulai 0,75 sangat mirip, mulai 0,60 mirip, di bawahnya sedikit "
        "terkait.",
    ),
    "sim_same": ("likely the same issue", "kemungkinan masalah yang sama"),
    "sim_close": ("very similar", "sangat mirip"),
    "sim_related": ("similar", "mirip"),
    "sim_loose": ("loosely related", "sedikit terkait"),
    "resolved_when": ("resolved {age}", "selesai {age}"),
    "resolution": ("Resolution", "Penyelesaian"),
    "resolution_hidden": (
        "Internal resolution, shown to admins only",
        "Penyelesaian internal, hanya untuk admin",
    ),
    "no_resolution": ("No resolution text recorded.", "Tidak ada catatan penyelesaian."),
    "no_similar": ("No similar resolved tickets yet.", "Belum ada tiket serupa yang selesai."),
    "similar_unavailable": (
        "Similar tickets are unavailable: {reason}",
        "Tiket serupa tidak tersedia: {reason}",
    ),
    "duplicates_title": ("Possible duplicates, still open", "Kemungkinan duplikat, masih terbuka"),
    "just_now": ("just now", "baru saja"),
    "minutes_ago": ("{n} min ago", "{n} menit lalu"),
    "hours_ago": ("{n} h ago", "{n} jam lalu"),
    "days_ago": ("{n} d ago", "{n} hari lalu"),
    "months_ago": ("{n} mo ago", "{n} bulan lalu"),
    "years_ago": ("{n} y ago", "{n} tahun lalu"),
    "incidents_title": ("Open incidents", "Insiden terbuka"),
    "incidents_hint": (
        "Surges of similar tickets. Confirm or dismiss them here (admin key); merge and split "
        "them through the API.",
        "Lonjakan tiket yang mirip. Konfirmasi atau abaikan di sini (kunci admin); gabungkan "
        "dan pisahkan lewat API.",
    ),
    "incident_confirm": ("Confirm", "Konfirmasi"),
    "incident_dismiss": ("Dismiss: not an incident", "Abaikan: bukan insiden"),
    "no_admin_scope": (
        "Your key may not decide about incidents (it needs the admin scope).",
        "Kunci Anda tidak boleh memutuskan insiden (perlu cakupan admin).",
    ),
    "incidents_none": ("No open incident.", "Tidak ada insiden terbuka."),
    "incident_tickets": ("{n} tickets", "{n} tiket"),
    "incident_growth": ("+{n} in 10 min", "+{n} dalam 10 menit"),
    "incident_since": ("since {when}", "sejak {when}"),
    "incident_parent": ("parent", "induk"),
    "incident_confirmed": ("confirmed", "dikonfirmasi"),
    "queue_title": ("Triaged tickets", "Tiket yang sudah ditriase"),
    "queue_hint": (
        "Work the review queue first: the model abstained there.",
        "Kerjakan antrean tinjau lebih dulu: di sana model abstain.",
    ),
    "tabs_hint": (
        "Each head has its own badge. A ticket counts once, under its least certain head: "
        "review when any head needs review, auto only when every head was decided "
        "automatically.",
        "Setiap kepala punya lencananya sendiri. Tiket dihitung sekali, menurut kepala yang "
        "paling tidak yakin: tinjau bila ada kepala yang perlu ditinjau, otomatis hanya bila "
        "semua kepala diputuskan otomatis.",
    ),
    "decisions": ("Decision", "Keputusan"),
    "all": ("all", "semua"),
    "any": ("any", "semua"),
    "show": ("Show", "Tampilkan"),
    "pending": ("awaiting staff", "menunggu staf"),
    "everything": ("all tickets", "semua tiket"),
    "filters": ("Filters", "Filter"),
    "apply": ("Apply", "Terapkan"),
    "col_ticket": ("Ticket", "Tiket"),
    "col_when": ("Triaged", "Ditriase"),
    "col_status": ("Status", "Status"),
    "reviewed": ("reviewed", "sudah ditinjau"),
    "to_do": ("to do", "belum"),
    "empty_queue": ("No triaged tickets match.", "Tidak ada tiket yang cocok."),
    "older": ("Older tickets", "Tiket lebih lama"),
    "newer": ("Newer tickets", "Tiket lebih baru"),
    "quality_title": ("Live quality, last 7 days", "Kualitas langsung, 7 hari terakhir"),
    "quality_hint": (
        "From staff feedback: precision is the share of predictions staff kept, coverage the "
        "share decided automatically.",
        "Dari umpan balik staf: presisi adalah porsi prediksi yang dipertahankan staf, cakupan "
        "adalah porsi yang diputuskan otomatis.",
    ),
    "precision": ("Precision", "Presisi"),
    "coverage": ("Coverage", "Cakupan"),
    "feedback_count": ("{n} feedback", "{n} umpan balik"),
    "no_feedback_yet": ("No feedback in these 7 days.", "Belum ada umpan balik dalam 7 hari ini."),
    "no_quality_scope": (
        "Live quality needs a key with the feedback scope.",
        "Kualitas langsung membutuhkan kunci dengan cakupan feedback.",
    ),
    "chart_label": (
        "{head}: precision {precision} and coverage {coverage} over 7 days",
        "{head}: presisi {precision} dan cakupan {coverage} selama 7 hari",
    ),
    "numbers": ("Numbers per day", "Angka per hari"),
    "day": ("Day (UTC)", "Hari (UTC)"),
}


def translator(lang: str) -> Translator:
    """``t(key, **values)``: the text in ``lang`` (English for an unknown language)."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str, **values: object) -> str:
        text = TEXT[key][index]
        return text.format(**values) if values else text

    return t


def head_title(t: Translator, head: str) -> str:
    """A head's name for people: translated where the page knows it, else as trained."""
    return t(f"head_{head}") if f"head_{head}" in TEXT else head


def pick_language(accept_language: str | None) -> str:
    """The first language of an Accept-Language header the page speaks (else English)."""
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code
        if code == "in":  # the old ISO 639 code for Indonesian
            return "id"
    return "en"


def age(when: datetime | None, now: datetime, t: Translator) -> str:
    """How long ago ``when`` was, in words."""
    if when is None:
        return ""
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 60:
        return t("just_now")
    for unit, size in (("years_ago", 365 * 86400), ("months_ago", 30 * 86400)):
        if seconds >= size:
            return t(unit, n=int(seconds // size))
    if seconds >= 86400:
        return t("days_ago", n=int(seconds // 86400))
    if seconds >= 3600:
        return t("hours_ago", n=int(seconds // 3600))
    return t("minutes_ago", n=int(seconds // 60))

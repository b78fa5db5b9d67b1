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

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.core.text import normalise_field, subject_text, ticket_text


def test_fields_are_joined_one_per_line_in_order() -> None:
    assert ticket_text(["Printer jams", "Every job stops."]) == "Printer jams\nEvery job stops."


def test_empty_and_missing_fields_are_skipped() -> None:
    assert ticket_text([None, "  ", float("nan"), "body only"]) == "body only"
    assert ticket_text([None, ""]) == ""


def test_html_is_reduced_to_plain_text() -> None:
    html = "<p>Hello&nbsp;team,</p><p>VPN <b>drops</b> every 5&nbsp;min &amp; reconnects<br/>Thanks</p>"
    assert normalise_field(html) == "Hello team,\nVPN drops every 5 min & reconnects\nThanks"


def test_whitespace_and_control_characters_are_normalised() -> None:
    assert normalise_field("  a\t\tb \r\n\r\n\r\n c\x00d  ") == "a b\ncd"


def test_text_that_merely_mentions_angle_brackets_survives() -> None:
    assert normalise_field("if x < 3 and y > 2") == "if x < 3 and y > 2"


def test_unicode_is_nfc_normalised() -> None:
    decomposed = "Cafe\u0301 wifi"
    assert normalise_field(decomposed) == "Caf\u00e9 wifi"


def test_the_subject_is_its_own_text_only_beside_a_body() -> None:
    assert subject_text(" Printer <b>jams</b> ", "Tray 2\n") == "Printer jams"
    # No body: the ticket's text is its subject, embedded once.
    assert subject_text("Printer jams", "  ") is None
    assert subject_text(None, "Tray 2") is None


def _normalise_field_filtering_every_character(value: object) -> str:
    """``normalise_field`` as it was before its fast path (654b712): every character's
    category looked up."""
    import unicodedata

    from triage.core.text import _BLANK_LINES, _BLOCK_TAG, _SPACES, _TAG, unescape_html

    if value is None:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    text = str(value)
    if "<" in text and ">" in text:
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    text = unescape_html(text)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


any_character = st.characters(blacklist_categories=())  # surrogates and unassigned too
ticket_like = st.lists(
    st.one_of(
        st.text(any_character, max_size=20),
        st.sampled_from(
            [
                "\n",
                "\t",
                "\r\n",
                "\x00",
                "\u200b",
                "\ufeff",
                "\u00a0",
                "\u2028",
                "<b>",
                "</p>",
                "&nbsp;",
                "&#8203;",
                "e\u0301",
                "printer jams",
            ]
        ),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(any_character), ticket_like))
def test_the_fast_path_normalises_as_filtering_every_character(text: str) -> None:
    assert normalise_field(text) == _normalise_field_filtering_every_character(text)


def test_the_sample_tickets_normalise_as_before(sample_frame: pd.DataFrame) -> None:
    for column in ("subject", "body", "resolution"):
        for value in sample_frame[column]:
            assert normalise_field(value) == _normalise_field_filtering_every_character(value)

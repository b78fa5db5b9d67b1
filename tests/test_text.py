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

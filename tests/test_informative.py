from triage.core.informative import STOP_WORDS, informative_count, informative_words


def test_a_vague_indonesian_request_has_almost_nothing_to_act_on() -> None:
    text = "Minta tolong\nKomputer saya agak aneh, tolong dicek ya"
    assert informative_words(text) == ["komputer"]


def test_a_vague_english_request_has_nothing_to_act_on() -> None:
    assert informative_count("Hi, something is wrong, can someone please call me ASAP?") == 0
    assert informative_count("Urgent!!! Please help, thanks") == 0


def test_real_tickets_keep_their_content_words_in_both_languages() -> None:
    assert informative_count("Printer lantai 4 macet kertas di tray 2") >= 4
    assert set(informative_words("VPN keeps disconnecting, error 809 on Windows 11")) >= {
        "vpn",
        "disconnecting",
        "error",
        "windows",
    }


def test_numbers_single_letters_and_repeats_do_not_count() -> None:
    assert informative_count("2024 12 x y") == 0
    assert informative_count("outlook outlook OUTLOOK") == 1


def test_the_stop_list_holds_both_languages_function_words() -> None:
    assert {"the", "please", "saya", "tolong", "yang", "mohon"} <= STOP_WORDS
    assert not {"printer", "vpn", "password", "laptop", "jaringan"} & STOP_WORDS

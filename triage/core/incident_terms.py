"""The words that name an incident: a ticket's distinct content words, and an incident's top
terms (frequent among its members, rare in the window), in English and Bahasa Indonesia."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
MAX_TICKET_TERMS = 40

# Function words only; content words such as "error", "down" or "gagal" must stay.
_STOPWORDS = frozenset(
    """
    the and for are but not you your yours all any can had has have her hers him his how its
    our was were what when where which who whom why will with would this that these those there
    their them then than they from into onto over under about after before again also been
    being both did does doing each few further just more most much must now once only other own
    same should some such too very shall may might could here while because until upon whether
    within without hello dear thanks thank please regards team kind best get got one two yes
    ago since per via let lets yang dan di ke dari untuk dengan pada ini itu ada tidak bisa
    saya kami kita anda dia mereka akan sudah belum juga atau karena jadi agar supaya oleh
    dalam sebagai adalah yaitu bahwa tapi tetapi namun jika kalau maka masih lagi hanya saja
    sangat lebih kurang pun apa apakah bagaimana kenapa mengapa kapan mana siapa berapa mohon
    tolong terima kasih selamat pagi siang sore malam halo hai bapak ibu mas mbak kak min admin
    nya lah kah dong sih deh yah ya punya para setiap semua beberapa tersebut
    """.split()  # noqa: SIM905 - a list of words reads better as text
)


def ticket_terms(text: str) -> tuple[str, ...]:
    """The distinct content words of a ticket's text, in order of first use (at most 40)."""
    seen: dict[str, None] = {}
    for match in _WORD.finditer(text.lower()):
        word = match.group()
        if word not in _STOPWORDS and word not in seen:
            seen[word] = None
            if len(seen) >= MAX_TICKET_TERMS:
                break
    return tuple(seen)


def top_terms(
    members: Iterable[Sequence[str]], idf: Callable[[str], float], *, k: int = 5
) -> list[str]:
    """The ``k`` words most shared by the members, weighted by their rarity (``idf``); a word
    used by a single member of a larger group is not a name for the group."""
    counts: Counter[str] = Counter()
    size = 0
    for terms in members:
        counts.update(terms)
        size += 1
    floor = 2 if size > 1 else 1
    scored = [(n * idf(word), word) for word, n in counts.items() if n >= floor]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [word for _, word in scored[:k]]


def idf_from(document_frequency: Counter[str], documents: int) -> Callable[[str], float]:
    """Smoothed inverse document frequency over ``documents`` tickets."""

    def idf(word: str) -> float:
        return math.log((1 + documents) / (1 + document_frequency.get(word, 0))) + 1.0

    return idf

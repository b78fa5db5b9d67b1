"""Which words of a ticket carry information: everything but stop and filler words (en, id).

"Minta tolong, komputer saya agak aneh ya" holds two words a classifier could act on;
"saya", "ya", "minta" and "tolong" appear in every kind of ticket. The auto gate
(:mod:`triage.core.auto_gate`) counts informative words so that a ticket made only of such words
is never decided automatically, whatever the head's features make of them.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

# Function words and the filler of help requests, in English.
_ENGLISH = """
a about above after again against all almost also am an and any anyone anything are around as
at be because been before being below between both but by can cannot could did do does doing
done down during each either else even ever every few for from further get gets getting got had
has have having he her here hers herself him himself his how however i if in into is it its
itself just let me might more most much must my myself no nor not now of off on once one only
or other our ours ourselves out over own per quite rather really same shall she should since so
some such than that the their theirs them themselves then there these they this those though
through thus to too under until up upon us very was we were what whatever when where whether
which while who whom whose why will with within without would yet you your yours yourself
yourselves im ive id dont doesnt didnt cant couldnt wont isnt arent wasnt werent hasnt havent
hadnt shouldnt wouldnt thats theres whats lets its
hi hello hey dear hiya morning afternoon evening good greetings please pls plz kindly thanks
thank thx ty cheers regards best wishes sincerely sir madam mr mrs ms team guys folks all
help helpdesk support assist assistance urgent urgently asap quick quickly soon possible
someone somebody something anything everything nothing somehow stuff thing things
issue issues problem problems trouble question questions query request ask asking need needs
needed want wanted like would could look looking check checking see seems seem weird strange
odd wrong right ok okay yes yeah sure fine well still already again today yesterday now
just sorry apologies know let call me reply respond advise appreciated appreciate
"""

# Kata fungsi dan pengisi permintaan bantuan, dalam Bahasa Indonesia.
_INDONESIAN = """
ada adalah agak agar akan aku amat anda antara apa apakah apalagi atau atas bagai bagaimana
bagi bahwa baik banget bapak barangkali begitu belum benar berapa bersama beserta betul biar
bila bisa boleh bu buat bukan cuma dalam dan dapat dari daripada dengan di dia dong deh demikian
dua hal hanya harus hingga ia ibu ini itu iya jadi jangan jika juga justru kak kakak kalau kalo
kami kamu kan kapan karena karna kasih ke kemudian kenapa kepada kita kok krn lagi lah lain
maka mana masih mau mbak mas melalui memang mengapa mereka meski minta mohon mungkin namun nah
nanti nih oleh pada para pak per perlu pun saat saja sama sambil sampai sangat saya sebab
sebagai sebelum sedang sedikit segera sehingga sekali sekarang selalu selama seperti serta
sesuatu setelah sih siapa silakan silahkan suatu sudah supaya tadi tapi telah tentang tetapi
tersebut tidak tak tolong tuh untuk waktu ya yah yang aja gak ga nggak ngga enggak udah udh
sdh blm tdk yg dgn utk jd tp gmn gimana bgmn kpd dr pd sy km
halo hai hallo permisi selamat pagi siang sore malam salam hormat hangat terima makasih
trims thanks maaf mohonmaaf bantu bantuan bantuannya dibantu membantu tolongin tolonglah
minta mintanya mohonnya cepat secepatnya urgent penting segera dicek cek mengecek dilihat
lihat liat kenapa kendala masalah bermasalah aneh ganggu gangguan sesuatu apapun pokoknya
"""

STOP_WORDS = frozenset((_ENGLISH + _INDONESIAN).split())


def informative_words(text: str) -> list[str]:
    """The lower-cased words of ``text`` that carry information: not a stop or filler word
    of English or Bahasa Indonesia, at least two characters, and not a bare number."""
    return [
        word
        for word in _WORD.findall(text.lower())
        if len(word) > 1 and not word.isdigit() and word not in STOP_WORDS
    ]


def informative_count(text: str) -> int:
    """How many informative words ``text`` holds (repeats counted once)."""
    return len(set(informative_words(text)))

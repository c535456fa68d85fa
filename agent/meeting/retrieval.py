"""Find what the transcript says: by speaker and topic, decisions, action items.

Deterministic on purpose: the answer to "what did Ana say about the budget?" must come from
lines Ana actually said, found by this code, so a small model cannot invent them and a test
can check exactly what was found. Matching is lexical with light stemming, which is what
meeting questions need (they reuse the words people said).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import jellyfish

from parley_agent.meeting.transcript import Segment, TranscriptStore

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    """a about above after again all also am an and any are as at be been before being below
    between both but by can could did do does doing done down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me
    more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with
    would you your yours say said says tell told think thought talk talked mention mentioned
    meeting anything something thing things regarding concerning re okay ok yeah um uh""".split()
)

_DECISION = re.compile(
    r"\b(we (have |'ve )?(decided|agreed|agree|settled|concluded|will go|'ll go|are going)"
    r"|(it'?s|it is|that'?s) (decided|agreed|settled|final)|decision|let'?s go with|we'?ll go with"
    r"|agreed|approved?|final answer|go ahead with)\b",
    re.IGNORECASE,
)
# "I'll send ...", "Bob will draft ...", "Ana, can you ...", "action item: ..."
_SELF_ACTION = re.compile(
    r"\bI(?:'ll| will| am going to|'m going to| can take| take)\s+(?P<task>[^.?!]+)", re.IGNORECASE
)
_OTHER_ACTION = re.compile(
    r"\b(?P<owner>[A-Z][a-z]+)(?:,)? (?:will|is going to|'ll|to) (?P<task>[^.?!]+)"
)
_ASK_ACTION = re.compile(
    r"\b(?P<owner>[A-Z][a-z]+), (?:can|could|would) you (?:please )?(?P<task>[^.?!]+)"
)
_ACTION_ITEM = re.compile(r"\baction item[s]?:?\s*(?P<task>[^.?!]+)", re.IGNORECASE)


def stem(word: str) -> str:
    for suffix in ("ings", "ing", "ies", "ied", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix in ("ies", "ied") else base
    return word


def keywords(text: str) -> set[str]:
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def match_speaker(name: str, speakers: list[str]) -> list[str]:
    """Speakers whose full or first name matches ``name`` (tolerant of STT spellings)."""
    wanted = name.strip().lower()
    if not wanted:
        return []
    found = []
    for speaker in speakers:
        full = speaker.lower()
        first = full.split()[0] if full.split() else full
        for candidate in (full, first):
            if candidate == wanted or (
                len(wanted) >= 3 and jellyfish.jaro_winkler_similarity(candidate, wanted) >= 0.88
            ):
                found.append(speaker)
                break
    return found


@dataclass(frozen=True)
class ActionItem:
    owner: str
    task: str


def find_said(
    store: TranscriptStore, speaker: str | None = None, topic: str | None = None
) -> tuple[list[Segment], list[str]]:
    """Segments by ``speaker`` (fuzzy) that share a keyword with ``topic``.

    Returns the segments and the transcript names the speaker resolved to (empty when nobody
    by that name spoke, so the caller can say exactly that).
    """
    segments = store.evidence()
    names: list[str] = []
    if speaker:
        names = match_speaker(speaker, store.speakers())
        segments = [s for s in segments if s.speaker in names]
    if topic:
        wanted = keywords(topic)
        if wanted:
            segments = [s for s in segments if wanted & keywords(s.text)]
    return segments, names


def find_decisions(store: TranscriptStore) -> list[Segment]:
    return [s for s in store.evidence() if _DECISION.search(s.text)]


def find_action_items(store: TranscriptStore) -> list[ActionItem]:
    speakers = store.speakers()
    items: list[ActionItem] = []
    for seg in store.evidence():
        for sentence in re.split(r"(?<=[.?!])\s+", seg.text):
            item = _action_in(sentence, seg.speaker, speakers)
            if item is not None:
                items.append(item)
    return items


def _action_in(sentence: str, speaker: str, speakers: list[str]) -> ActionItem | None:
    for pattern in (_ASK_ACTION, _OTHER_ACTION):
        m = pattern.search(sentence)
        if m:
            owners = match_speaker(m.group("owner"), speakers)
            if owners:
                return ActionItem(owners[0], _clean_task(m.group("task")))
    m = _SELF_ACTION.search(sentence)
    if m and not re.match(r"\s*(think|guess|say|be honest|admit)\b", m.group("task"), re.I):
        return ActionItem(speaker, _clean_task(m.group("task")))
    m = _ACTION_ITEM.search(sentence)
    if m:
        return ActionItem("unassigned", _clean_task(m.group("task")))
    return None


def _clean_task(task: str) -> str:
    return " ".join(task.split()).rstrip(",;:")

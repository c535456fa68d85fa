"""Answer questions about the meeting from the transcript, never beyond it.

``answer_question`` turns a request ("what did Ana say about the budget?", "what was
decided?", "summarise so far") into an :class:`Answer`: the transcript lines that answer it,
a grounding note for the model, and a plain extractive answer that needs no model at all.
When the transcript has nothing, ``found`` is false and ``text`` says so honestly; the agent
speaks that sentence itself instead of letting a model guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from parley_agent.meeting.retrieval import (
    ActionItem,
    find_action_items,
    find_decisions,
    find_said,
    match_speaker,
)
from parley_agent.meeting.transcript import Segment, TranscriptStore

Kind = Literal["said", "decisions", "actions", "summary", "general"]

_SAID = re.compile(
    r"\bwhat (?:did|has|have|does|was) (?P<speaker>[a-z][a-z' -]{0,40}?) "
    r"(?:say|said|mention|mentioned|think|thought|propose|proposed|suggest|suggested|"
    r"want|wanted|talk|talked|been saying|saying)"
    r"(?: (?:about|on|regarding|concerning|re) (?P<topic>.+))?$",
    re.IGNORECASE,
)
_SAID_ALT = re.compile(
    r"\b(?:did|has) (?P<speaker>[a-z][a-z' -]{0,40}?) (?:say|said|mention|mentioned|talk) "
    r"(?:anything )?(?:about|on|regarding) (?P<topic>.+)$",
    re.IGNORECASE,
)
_DECISIONS = re.compile(
    r"\b(decided|decide|decision|decisions|agreed|agree on|agreement|conclusion|settled)\b", re.I
)
_ACTIONS = re.compile(
    r"\b(action items?|to-?dos?|next steps|who (?:is|'s) (?:doing|taking|handling)|follow[- ]ups?|"
    r"owners?|assigned|tasks?)\b",
    re.I,
)
_SUMMARY = re.compile(
    r"\b(summari[sz]e|summary|recap|so far|catch (?:me|us) up|what (?:have|did) (?:we|i) miss"
    r"|what'?s been (?:said|discussed)|sum up|overview)\b",
    re.I,
)

MAX_EXCERPTS = 8

# A request about what was said, however it is worded or misheard ("what didn't Maria
# say", "anything from Maria on the launch", "did anyone bring up the date"): a verb of
# speech, or a participant's name, is enough to keep it on the transcript.
_SPEECH_VERB = re.compile(
    r"\b(say|says|said|saying|mention|mentions|mentioned|talk|talked|talking|tell|told|"
    r"propose|proposed|suggest|suggested|ask|asked|bring up|brought up|raise|raised|"
    r"discuss|discussed|point|pointed|claim|claimed|quote|words?)\b",
    re.I,
)
_ANYONE = re.compile(r"\b(anyone|anybody|someone|somebody|everyone|people|they|we)\b", re.I)
_PASSIVE = re.compile(
    r"\b(?:was|were|been|got)(?: \w+)? (?:said|mentioned|discussed|proposed|raised|"
    r"brought up|agreed)\b",
    re.I,
)
# With a name nobody in the meeting has, only these count (not "tell us about Paris").
_SAID_VERB = re.compile(
    r"\b(say|said|mention|mentioned|propose|proposed|suggest|suggested|raise|raised|"
    r"claim|claimed)\b",
    re.I,
)
# Words that name no topic: "Ben's point", "her view".
_NO_TOPIC = frozenset("point points view views take thoughts opinion idea ideas input".split())
_TOPIC = re.compile(r"\b(?:about|on|regarding|concerning|re|of)\s+(?P<topic>.+)$", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


@dataclass
class Answer:
    kind: Kind
    found: bool
    text: str  # extractive answer, or the honest "not in the transcript" sentence
    excerpts: list[Segment] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)

    def spoken(self, max_quotes: int = 3) -> str:
        """The extractive answer, short enough to say aloud."""
        if self.kind in ("said", "decisions") and len(self.excerpts) > max_quotes:
            lead = "Decisions so far: " if self.kind == "decisions" else ""
            return lead + _quote(self.excerpts[-max_quotes:])
        return self.text

    def grounding(self) -> str:
        """What the model is shown to phrase its answer (and told not to go beyond)."""
        if not self.found:
            return (
                "The meeting transcript does not contain the answer. Say exactly this and "
                f"nothing more: {self.text}"
            )
        lines = [s.line() for s in self.excerpts]
        lines += [f"ACTION ITEM — owner: {a.owner}; task: {a.task}" for a in self.actions]
        body = "\n".join(dict.fromkeys(lines))
        return (
            "Answer the question using only these lines from the meeting transcript. Name who "
            "said what. If they do not answer the question, say the transcript does not say.\n"
            f"{body}"
        )


def _clean(text: str) -> str:
    return text.strip().rstrip("?.!, ").strip()


def classify(question: str) -> tuple[Kind, str | None, str | None]:
    """The kind of request and, for "said", the speaker and topic."""
    q = _clean(" ".join(question.split()))
    for pattern in (_SAID, _SAID_ALT):
        m = pattern.search(q)
        if m:
            speaker = _clean(m.group("speaker"))
            if speaker.lower() not in {"we", "you", "they", "i", "people", "everyone", "somebody"}:
                topic = m.group("topic")
                return "said", speaker, (_clean(topic) if topic else None)
    if _SUMMARY.search(q):
        return "summary", None, None
    if _ACTIONS.search(q):
        return "actions", None, None
    if _DECISIONS.search(q):
        return "decisions", None, None
    return "general", None, None


def _quote(segments: list[Segment]) -> str:
    return " ".join(f'{s.speaker} said: "{s.text}"' for s in segments)


def about_the_meeting(store: TranscriptStore, question: str) -> tuple[str | None, str | None]:
    """For a request ``classify`` could not place: (speaker, topic) when it is about what a
    participant (or anyone) said, else (None, None). Speaker "" means anyone.

    A participant's name in the question (tolerant of STT spellings, the transcript's own
    speakers only) or a verb of speech with "anyone"/"we" makes it a transcript question,
    so a misheard word cannot send it to a model that would invent the answer.
    """
    q = _clean(" ".join(question.split()))
    topic_match = _TOPIC.search(q)
    topic = _clean(topic_match.group("topic")) if topic_match else None
    speakers = store.speakers()
    for word in _WORD.findall(q):
        if len(word) < 3 or word.lower() in _NOT_NAMES:
            continue
        exact = [p for p in speakers if word.lower() in (p.lower(), p.lower().split()[0])]
        # Spelling-tolerant only for a capitalised word: STT capitalises names, and
        # lower-case words ("been", "and") fuzzily match short names.
        names = exact or (match_speaker(word, speakers) if word[0].isupper() else [])
        if names:
            return names[0], _topic_without(topic, word)
    if _SAID_VERB.search(q):
        # A name nobody in the meeting has ("what did Maria say" when no Maria spoke):
        # still a transcript question, answered with "I haven't heard anyone called ...".
        words = _WORD.findall(q)
        for word in words[1:]:
            if word[0].isupper() and word.lower() not in _NOT_NAMES and len(word) >= 3:
                return word, _topic_without(topic, word)
    if (_SPEECH_VERB.search(q) and _ANYONE.search(q)) or _PASSIVE.search(q):
        if topic is None:  # "did anyone bring up the launch date": the rest is the topic
            rest = _ANYONE.sub(" ", _PASSIVE.sub(" ", _SPEECH_VERB.sub(" ", q)))
            topic = _clean(" ".join(rest.split())) or None
        return "", topic
    return None, None


def _topic_without(topic: str | None, name: str) -> str | None:
    """The topic minus the speaker's name and words that name no topic ("Ben's point")."""
    if not topic:
        return None
    words = [
        w
        for w in topic.split()
        if w.lower().removesuffix("'s") not in (name.lower(), *_NO_TOPIC)
        and w.lower() not in ("his", "her", "their", "the", "a")
    ]
    return " ".join(words) or None


# Words that fuzzy-match short names ("Ana" ~ "and") but never name anyone.
_NOT_NAMES = frozenset(
    """the and what who how why when where which did does was were has have had say said
    about with from that this then than there their they them you your our are for can
    could would will should please tell give anything something nothing everyone anyone
    meeting parley been being just also only""".split()
)


def answer_question(store: TranscriptStore, question: str) -> Answer:
    kind, speaker, topic = classify(question)
    if kind == "general":
        who, about = about_the_meeting(store, question)
        if who is not None:
            kind, speaker, topic = "said", who, about
    if kind == "said":
        return _answer_said(store, speaker or "", topic)
    if kind == "decisions":
        found = find_decisions(store)[-MAX_EXCERPTS:]
        if not found:
            return Answer(kind, False, "I haven't heard any decision in this meeting so far.")
        return Answer(kind, True, "Decisions so far: " + _quote(found), found)
    if kind == "actions":
        actions = find_action_items(store)
        if not actions:
            return Answer(kind, False, "I haven't heard any action items in this meeting so far.")
        text = "Action items: " + "; ".join(f"{a.owner} will {a.task}" for a in actions) + "."
        return Answer(kind, True, text, actions=actions)
    if kind == "summary":
        return summarise_so_far(store)
    return Answer("general", True, "")


def _answer_said(store: TranscriptStore, speaker: str, topic: str | None) -> Answer:
    if not speaker:  # anyone
        segments, _ = find_said(store, None, topic)
        about = f" about {topic}" if topic else ""
        if not segments or not topic:
            return Answer("said", False, f"I didn't hear anyone say anything{about}.")
        return Answer("said", True, _quote(segments[-MAX_EXCERPTS:]), segments[-MAX_EXCERPTS:])
    segments, names = find_said(store, speaker, topic)
    if not names:
        return Answer("said", False, f"I haven't heard anyone called {speaker} in this meeting.")
    who = names[0]
    if not segments:
        about = f" about {topic}" if topic else ""
        return Answer("said", False, f"The transcript has nothing from {who}{about}.")
    segments = segments[-MAX_EXCERPTS:]
    return Answer("said", True, _quote(segments), segments)


def summarise_so_far(store: TranscriptStore) -> Answer:
    participants = store.evidence()
    if not participants:
        return Answer("summary", False, "Nothing has been said in this meeting yet.")
    speakers = store.speakers()
    decisions = find_decisions(store)
    actions = find_action_items(store)
    parts = [f"So far {len(speakers)} people have spoken: {', '.join(speakers)}."]
    if decisions:
        parts.append("Decisions: " + _quote(decisions[-3:]))
    if actions:
        parts.append(
            "Action items: " + "; ".join(f"{a.owner} will {a.task}" for a in actions[-5:]) + "."
        )
    if not decisions and not actions:
        parts.append("Most recently, " + _quote(participants[-2:]))
    # The model sees a bounded window of the latest lines to write a fuller summary.
    excerpts = participants[-40:]
    return Answer("summary", True, " ".join(parts), excerpts, actions)

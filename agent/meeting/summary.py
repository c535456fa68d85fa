"""The end-of-meeting summary: decisions and action items with owners, posted to the backend.

Built deterministically from the transcript (cue phrases, see ``retrieval``); when a model is
available it may write a better one as JSON, which is validated and used only if it parses.
The history uploader (``agent/history.py``) posts it like every other summary: same
idempotency key per job, same durable retries and spool.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

from livekit.agents import llm as lk_llm
from pydantic import BaseModel, Field, ValidationError

from parley_agent.meeting.retrieval import find_action_items, find_decisions
from parley_agent.meeting.transcript import TranscriptStore

logger = logging.getLogger("parley.meeting.summary")

# The model gets this long at job end; the history then needs the rest of the framework's
# 10 s shutdown allowance to post the summary (HistoryOptions.flush_timeout).
SUMMARY_LLM_TIMEOUT_S = 4.0


class ActionItemOut(BaseModel):
    owner: str = Field(min_length=1, max_length=100)
    task: str = Field(min_length=1, max_length=500)


class MeetingSummary(BaseModel):
    overview: str = Field(max_length=4000)
    decisions: list[str] = Field(default_factory=list, max_length=50)
    action_items: list[ActionItemOut] = Field(default_factory=list, max_length=50)
    participants: list[str] = Field(default_factory=list, max_length=100)
    source: str = "transcript"  # "transcript" (deterministic) or "llm"

    def text(self) -> str:
        lines = [self.overview]
        if self.decisions:
            lines.append("Decisions:")
            lines += [f"- {d}" for d in self.decisions]
        if self.action_items:
            lines.append("Action items:")
            lines += [f"- {a.owner}: {a.task}" for a in self.action_items]
        return "\n".join(lines)


def build_summary(store: TranscriptStore) -> MeetingSummary:
    speakers = store.speakers()
    spoken = store.evidence()
    decisions = [f"{s.speaker}: {s.text}" for s in find_decisions(store)]
    actions = [ActionItemOut(owner=a.owner, task=a.task) for a in find_action_items(store)]
    if spoken:
        overview = (
            f"{len(spoken)} contributions from {len(speakers)} participants "
            f"({', '.join(speakers)}); {len(decisions)} decisions and {len(actions)} action "
            "items were heard."
        )
    else:
        overview = "Nothing was said in the meeting while the agent was present."
    return MeetingSummary(
        overview=overview,
        decisions=decisions[:50],
        action_items=actions[:50],
        participants=speakers[:100],
    )


_SUMMARY_PROMPT = (
    "Summarise this meeting transcript. Reply with JSON only: "
    '{"overview": str, "decisions": [str], "action_items": [{"owner": str, "task": str}]}. '
    'Use only what the transcript says; owners must be people named in it, or "unassigned".'
)


async def llm_summary(
    model: lk_llm.LLM, store: TranscriptStore, timeout_s: float = SUMMARY_LLM_TIMEOUT_S
) -> MeetingSummary | None:
    """Ask ``model`` for the summary; None on any failure (the caller falls back)."""
    if not store.speakers():
        return None
    chat = lk_llm.ChatContext()
    chat.add_message(role="system", content=_SUMMARY_PROMPT)
    chat.add_message(role="user", content=store.render(max_chars=12000))
    try:
        async with asyncio.timeout(timeout_s):
            text = ""
            async with model.chat(chat_ctx=chat) as stream:
                async for chunk in stream:
                    if chunk.delta and chunk.delta.content:
                        text += chunk.delta.content
    except Exception as exc:  # any provider failure means "use the transcript summary"
        logger.warning("LLM summary failed: %s", exc)
        return None
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
        summary = MeetingSummary.model_validate(
            {**data, "participants": store.speakers(), "source": "llm"}
        )
    except (ValueError, ValidationError) as exc:
        logger.warning("LLM summary unusable: %s", exc)
        return None
    return summary if summary.overview.strip() else None

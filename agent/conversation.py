"""The conversation agent: instructions, greeting, language rule; tools are plugged in.

Other modes subclass it in their own modules (meeting mode: ``agent/meeting/agent.py``);
the worker's entrypoint picks the class by ``config.mode`` and passes each what it needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Sequence
from typing import Any

from livekit.agents import (
    Agent,
    ConversationItemAddedEvent,
    FlushSentinel,
    ModelSettings,
    UserInputTranscribedEvent,
    llm,
)

from parley_agent.closing_words import ACKNOWLEDGE, closing_kind
from parley_agent.tools.end_conversation import GOODBYE
from parley_common.agent_config import AgentConfig

# A session summary for the history: its text and structured extras (``SummaryIn``).
SessionSummary = tuple[str, dict[str, Any] | None]

VOICE_RULES = (
    "You are talking with a person by voice. Keep answers short: one to three sentences. "
    "Use plain spoken language: no lists, markdown, emojis or URLs."
)
HONESTY_RULE = (
    "Never invent facts. If you do not know something, or a tool failed or returned "
    "nothing, say so briefly instead of guessing. Only state live data (weather, news, "
    "prices, times) that a tool returned in this conversation."
)
LANGUAGE_RULE = (
    "Always reply in the language the user last spoke, even if it differs from the "
    "language of these instructions; switch when the user switches."
)

_LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "nl": "Dutch",
    "pl": "Polish",
    "ru": "Russian",
    "uk": "Ukrainian",
    "ja": "Japanese",
    "zh": "Chinese",
    "ko": "Korean",
    "hi": "Hindi",
    "ar": "Arabic",
    "tr": "Turkish",
    "sv": "Swedish",
    "da": "Danish",
    "no": "Norwegian",
    "fi": "Finnish",
}


def language_name(code: str) -> str:
    base = code.split("-")[0].lower()
    return _LANGUAGE_NAMES.get(base, code)


def build_instructions(config: AgentConfig, extra: str | None = None) -> str:
    base = config.instructions or (
        f"You are {config.agent_display_name}, a {config.persona}. Be warm and helpful."
    )
    parts = [base, VOICE_RULES, HONESTY_RULE, LANGUAGE_RULE]
    if config.language not in ("multi", "en") and not config.language.startswith("en-"):
        parts.append(f"Start in {language_name(config.language)} unless the user speaks another.")
    if extra:
        parts.append(extra)
    return "\n\n".join(parts)


def language_hint(detected: str | None, configured: str) -> str | None:
    """A per-turn system note when the STT heard a language other than the configured one."""
    if not detected:
        return None
    base = detected.split("-")[0].lower()
    if configured != "multi" and base == configured.split("-")[0].lower():
        return None
    return f"The user's last message was in {language_name(base)}. Reply in {language_name(base)}."


class ConversationAgent(Agent):
    """Answers every user turn. ``tools`` and ``extra_instructions`` come from other modules."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        tools: Sequence[llm.Tool | llm.Toolset] = (),
        extra_instructions: str | None = None,
    ) -> None:
        super().__init__(
            instructions=build_instructions(config, extra_instructions), tools=list(tools)
        )
        self.config = config
        self._heard_language: str | None = None

    async def on_enter(self) -> None:
        self.session.on("user_input_transcribed", self._on_transcribed)
        self.session.on("conversation_item_added", self._end_after_goodbye)
        greeting = self.config.default_greeting()
        if (
            self.session.tts is None
            and self.session.llm is not None
            and not isinstance(self.session.llm, llm.LLM)
        ):
            # A realtime model speaks for itself; ask it to say the greeting verbatim.
            self.session.generate_reply(instructions=f"Say exactly this greeting: {greeting}")
        else:
            self.session.say(greeting)

    async def on_exit(self) -> None:
        self.session.off("user_input_transcribed", self._on_transcribed)
        self.session.off("conversation_item_added", self._end_after_goodbye)

    # A clear goodbye or "stop, that's enough" (spoken or typed) gets its fixed answer, not
    # a model's (parley_agent.closing_words). Same override typing as MeetingAgent.llm_node.
    async def llm_node(  # type: ignore[override]
        self,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        model_settings: ModelSettings,
    ) -> AsyncIterable[llm.ChatChunk | str | FlushSentinel] | str | None:
        kind = self._closing_kind(chat_ctx)
        if kind == "stop":
            return ACKNOWLEDGE
        if kind == "goodbye":
            return GOODBYE
        return Agent.default.llm_node(self, chat_ctx, tools, model_settings)

    def _closing_kind(self, chat_ctx: llm.ChatContext) -> str | None:
        last = chat_ctx.items[-1] if chat_ctx.items else None
        if not (isinstance(last, llm.ChatMessage) and last.role == "user"):
            return None
        kind = closing_kind(last.text_content or "")
        if kind == "goodbye" and "end_conversation" not in self.config.tools:
            return None  # the room did not let the agent hang up: an ordinary turn
        return kind

    def _end_after_goodbye(self, event: ConversationItemAddedEvent) -> None:
        """The fixed goodbye was heard to its end: close the session (the worker then ends
        the job as a success). Interrupted, it was not a goodbye after all."""
        item = event.item
        if (
            isinstance(item, llm.ChatMessage)
            and item.role == "assistant"
            and not item.interrupted
            and item.text_content == GOODBYE
            and "end_conversation" in self.config.tools
        ):
            self.session.shutdown(drain=True)

    def _on_transcribed(self, event: UserInputTranscribedEvent) -> None:
        if event.is_final and event.language:
            self._heard_language = str(event.language)

    async def session_summary(self) -> SessionSummary | None:
        """The summary the history posts at job end; None: its default (turn counts)."""
        return None

    async def on_user_turn_completed(
        self, turn_ctx: llm.ChatContext, new_message: llm.ChatMessage
    ) -> None:
        hint = language_hint(self._heard_language, self.config.language)
        if hint:
            turn_ctx.add_message(role="system", content=hint)

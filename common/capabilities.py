"""What a worker's configured stack can serve: languages (STT and TTS) and LLM tool calling.

One model for both sides: the worker computes it from its provider plan and posts it to
the backend (``POST /api/agent/capabilities``); the backend keeps the latest per worker and
answers ``GET /api/capabilities`` and the token route's language check from it.

Language lists are the vendors' documented ones for the configured models (sources below);
a local model serves what it carries: Whisper ``*.en`` English only, a Piper voice or an
eSpeak NG voice its own language. A language is *served* only when the primary STT hears it
and the primary TTS speaks it (a fallback provider is a degraded path, not a promise).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

# Provider ids, as the worker's provider plan names them (parley_agent.providers.selection).
DEEPGRAM, OPENAI_STT, WHISPER = "deepgram", "openai-stt", "faster-whisper"
OPENAI_LLM, URL_LLM, LLAMACPP = "openai", "openai-compatible-url", "llama.cpp"
CARTESIA, OPENAI_TTS, PIPER, ESPEAK = "cartesia", "openai-tts", "piper", "espeak-ng"
REALTIME = "openai-realtime"

MULTI = "multi"

# Whisper's languages with a documented word error rate under 50 % (OpenAI speech-to-text
# guide, "Supported languages"); OpenAI's TTS and Realtime models document the same list.
# A multilingual Whisper model run locally is offered for the same list.
WHISPER_LANGUAGES: frozenset[str] = frozenset(
    "af ar hy az be bs bg ca zh hr cs da nl en et fi fr gl de el he hi hu is id it ja kn kk "
    "ko lv lt mk ms mr mi ne no fa pl pt ro ru sr sk sl es sw sv tl ta th tr uk ur vi cy".split()
)
# Deepgram Nova-3 monolingual models (developers.deepgram.com changelog, 2025-08 to
# 2026-03, and "Models and Language Overview"); "multi" is its code-switching model.
DEEPGRAM_NOVA3_LANGUAGES: frozenset[str] = frozenset(
    "en de nl sv da es fr pt it tr no id bg cs fi hi hu ja ko pl ru uk vi ca et el lv lt ms "
    "ro sk be bn bs hr kn mk mr sr sl ta tl te zh th".split()
)
# Deepgram Nova-2 (changelog 2024-05-14: 36 languages).
DEEPGRAM_NOVA2_LANGUAGES: frozenset[str] = frozenset(
    "bg ca zh cs da nl en et fi fr de el hi hu id it ja ko lv lt ms no pl pt ro ru sk es sv "
    "th tr uk vi".split()
)
# Cartesia (docs.cartesia.ai, TTS models: sonic-3 snapshots; sonic-2/turbo: 15 languages).
CARTESIA_SONIC3_LANGUAGES: frozenset[str] = frozenset(
    "en de es fr ja pt zh hi ko it nl pl ru sv tr tl bg ro ar cs el fi hr ms sk da ta uk hu "
    "no vi bn th he ka id te gu kn ml mr pa".split()
)
CARTESIA_SONIC2_LANGUAGES: frozenset[str] = frozenset(
    "en fr de es pt zh ja hi it ko nl pl ru sv tr".split()
)

_VOICE_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[_-][A-Za-z]{2,4})?(?:[-_.]|$)")


class ComponentCapabilities(BaseModel):
    """One component (STT or TTS): its primary provider and the languages it serves."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    model: str = ""
    languages: list[str] = Field(default_factory=list)
    # It follows the language spoken (language identification / a multilingual voice).
    multi: bool = False


class LlmCapabilities(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str
    model: str = ""
    # True: the model makes tool calls; False: it cannot (the embedded SmolLM2); None: an
    # endpoint the worker cannot vouch for (PARLEY_LLM_URL).
    tool_calling: bool | None = None
    reason: str = ""


class Capabilities(BaseModel):
    """What one worker (or, on the backend, the set of live workers) serves."""

    model_config = ConfigDict(extra="forbid")

    # Served end to end (heard and spoken), sorted; "multi" when both follow the speaker.
    languages: list[str]
    stt: ComponentCapabilities | None = None
    tts: ComponentCapabilities | None = None
    llm: LlmCapabilities | None = None
    # Why languages are missing or tools unavailable, in words the talk page can show.
    notes: list[str] = Field(default_factory=list)

    def serves(self, language: str) -> bool:
        """Whether a room's ``agent_config.language`` ("fr", "fr-CA", "multi") is served."""
        if language == MULTI:
            return MULTI in self.languages
        return language.split("-")[0].lower() in self.languages


def base_language(code: str) -> str:
    return code.split("-")[0].split("_")[0].lower()


def voice_language(voice: str) -> str | None:
    """The language of a Piper or eSpeak NG voice name or file ("en_US-joe-medium",
    "/models/fr_FR-siwis-medium.onnx", "en-us", "de"); None when the name does not say."""
    name = Path(voice).name
    match = _VOICE_LANGUAGE.match(name)
    return match.group(1).lower() if match else None


# Whisper's vocabulary: 51864 tokens in the English-only models, 51865 in multilingual ones.
_MULTILINGUAL_VOCABULARY = 51865


def whisper_is_multilingual(model: str) -> bool:
    """A CTranslate2 Whisper directory: its vocabulary says; a hub size name: ``*.en`` is
    English only (faster-whisper's names: tiny.en, base.en, ..., small, medium, large-v3)."""
    path = Path(model).expanduser()
    vocabulary = path / "vocabulary.txt"
    if vocabulary.is_file():
        with vocabulary.open(encoding="utf-8", errors="replace") as lines:
            return sum(1 for _ in lines) >= _MULTILINGUAL_VOCABULARY
    if (path / "vocabulary.json").is_file():  # the other form CTranslate2 converters write
        tokens = json.loads((path / "vocabulary.json").read_text(encoding="utf-8"))
        return len(tokens) >= _MULTILINGUAL_VOCABULARY
    return not re.search(r"[.\-_]en$", path.name.lower())


def whisper_languages(model: str) -> ComponentCapabilities:
    """A local Whisper model: an English-only one (``*.en``, the offline tiny.en pack) hears
    English; a multilingual one hears the Whisper list and identifies the language."""
    name = Path(model).name  # never a local path in what the backend shows
    if not whisper_is_multilingual(model):
        return ComponentCapabilities(provider=WHISPER, model=name, languages=["en"])
    return ComponentCapabilities(
        provider=WHISPER, model=name, languages=sorted(WHISPER_LANGUAGES), multi=True
    )


def stt_capabilities(provider: str, model: str) -> ComponentCapabilities:
    if provider == WHISPER:
        return whisper_languages(model)
    if provider == DEEPGRAM:
        if model.startswith("nova-3"):
            langs, multi = DEEPGRAM_NOVA3_LANGUAGES, True
        elif model.startswith("nova-2"):
            langs, multi = DEEPGRAM_NOVA2_LANGUAGES, True
        else:
            langs, multi = frozenset({"en"}), False  # a model we have no list for
        return ComponentCapabilities(
            provider=provider, model=model, languages=sorted(langs), multi=multi
        )
    if provider == OPENAI_STT:
        return ComponentCapabilities(
            provider=provider, model=model, languages=sorted(WHISPER_LANGUAGES), multi=True
        )
    return ComponentCapabilities(provider=provider, model=model, languages=[])


def tts_capabilities(provider: str, model: str, voice: str = "") -> ComponentCapabilities:
    if provider in (PIPER, ESPEAK):
        # One voice, one language: the worker speaks every room with the configured voice.
        lang = voice_language(voice)
        return ComponentCapabilities(
            provider=provider, model=Path(voice).name, languages=[lang] if lang else []
        )
    if provider == CARTESIA:
        langs = CARTESIA_SONIC3_LANGUAGES if model.startswith("sonic-3") else None
        if langs is None and model.startswith(("sonic-2", "sonic-turbo", "sonic")):
            langs = CARTESIA_SONIC2_LANGUAGES
        return ComponentCapabilities(
            provider=provider, model=model, languages=sorted(langs or {"en"}), multi=True
        )
    if provider == OPENAI_TTS:
        return ComponentCapabilities(
            provider=provider, model=model, languages=sorted(WHISPER_LANGUAGES), multi=True
        )
    return ComponentCapabilities(provider=provider, model=model, languages=[])


def llm_capabilities(provider: str, model: str) -> LlmCapabilities:
    if provider == LLAMACPP:
        return LlmCapabilities(
            provider=provider,
            model=model,
            tool_calling=False,
            reason="the embedded local model (SmolLM2-135M) cannot call tools",
        )
    if provider in (OPENAI_LLM, REALTIME):
        return LlmCapabilities(
            provider=provider, model=model, tool_calling=True, reason="a cloud LLM"
        )
    return LlmCapabilities(
        provider=provider,
        model=model,
        tool_calling=None,
        reason="an OpenAI-compatible endpoint: tool calls depend on the model it serves",
    )


_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German"}


def combine(
    stt: ComponentCapabilities | None,
    tts: ComponentCapabilities | None,
    llm: LlmCapabilities,
) -> Capabilities:
    """A worker's capabilities from its primary STT, TTS (None with a realtime model) and LLM."""
    notes: list[str] = []
    if stt is None or tts is None:
        # A realtime model hears and speaks for itself (OpenAI documents Whisper's list).
        languages = set(WHISPER_LANGUAGES) | {MULTI}
    else:
        languages = set(stt.languages) & set(tts.languages)
        if stt.multi and tts.multi:
            languages.add(MULTI)
        for code, name in _NAMES.items():
            if code in languages:
                continue
            missing = []
            if code not in stt.languages:
                missing.append(f"the speech recognition ({stt.provider} {stt.model})")
            if code not in tts.languages:
                missing.append(f"the voice ({tts.provider} {tts.model})")
            notes.append(f"{name} is not offered: {' and '.join(missing)} does not serve it.")
    if llm.tool_calling is False:
        notes.append(f"Tools (such as the weather) are unavailable: {llm.reason}.")
    return Capabilities(languages=sorted(languages), stt=stt, tts=tts, llm=llm, notes=notes)


def intersect(reports: list[Capabilities]) -> Capabilities:
    """What every one of several live workers serves: any of them may take the next room."""
    if len(reports) == 1:
        return reports[0]
    languages = set(reports[0].languages)
    for report in reports[1:]:
        languages &= set(report.languages)
    calling = [r.llm.tool_calling if r.llm else None for r in reports]
    tool_calling = (
        False if False in calling else (True if all(c is True for c in calling) else None)
    )
    notes = list(dict.fromkeys(note for r in reports for note in r.notes))
    notes.append(f"{len(reports)} workers are live; only what all of them serve is offered.")
    llm = LlmCapabilities(
        provider="mixed",
        tool_calling=tool_calling,
        reason="the live workers' LLMs differ" if len(set(calling)) > 1 else "",
    )
    return Capabilities(languages=sorted(languages), llm=llm, notes=notes)


# The backend's routes for them (the agent API prefix is parley_common.wire's).
CAPABILITIES_PATH = "/api/capabilities"
AGENT_CAPABILITIES_ROUTE = "/capabilities"


class CapabilityReport(BaseModel):
    """What a worker posts: who it is and what it serves (no secrets: ids and names only)."""

    model_config = ConfigDict(extra="forbid")

    worker_id: str = Field(min_length=1, max_length=128, pattern=r"^[\w.:@-]+$")
    agent_name: str = Field(default="parley", max_length=64)
    capabilities: Capabilities


def default_capabilities(languages: list[str]) -> Capabilities:
    """What the backend answers before any worker reported: the operator's configured list."""
    return Capabilities(
        languages=sorted({base_language(code) if code != MULTI else MULTI for code in languages}),
        notes=["No agent worker has reported its capabilities yet: configured defaults."],
    )

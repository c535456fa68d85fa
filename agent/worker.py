"""The Parley worker: how one voice session is built from the room's dispatch metadata.

Read ``entrypoint`` top to bottom: the room's config → providers → turn handling and the
session → tools → the agent class for the mode → history → start. Each step is a plain
function or class of its own module, with no side effect at import, so each is tested alone.

Process-wide work is kept apart and named for where it runs:

- ``prewarm`` runs once in every job process before its first job: the VAD, the local
  models, the OpenAI client's lazy imports (each would otherwise stall a first call).
- ``main`` runs in the main process: it checks the provider plan and starts the embedded
  llama.cpp server there, so all job processes share one loaded model
  (``start_embedded_llm``).
"""

from __future__ import annotations

import logging
import os
import sys
from functools import lru_cache
from typing import Any

from livekit.agents import (
    AgentSession,
    JobContext,
    JobProcess,
    cli,
    llm,
    room_io,
    tokenize,
)
from livekit.agents.types import NOT_GIVEN
from livekit.agents.vad import VAD
from livekit.agents.voice.agent_session import SessionConnectOptions

from parley_agent.capabilities import (
    CapabilityPublisher,
    room_capabilities,
    served_config,
    start_publishing,
)
from parley_agent.console_audio import ConsoleUnavailableError, check_console_audio
from parley_agent.continuation import room_history
from parley_agent.conversation import ConversationAgent, build_instructions
from parley_agent.drain_goodbye import GoodbyeOnDrainServer, leave_when_drained
from parley_agent.error_policy import ErrorPolicy
from parley_agent.history import attach_history
from parley_agent.http_clients import async_http_client, warm_tls
from parley_agent.job_status import end_job, track_close
from parley_agent.latency import TurnLatencyTracker
from parley_agent.meeting.agent import MeetingAgent, meeting_link, meeting_rules
from parley_agent.meeting.chat import ChatBackend
from parley_agent.meeting.runtime import MeetingRuntime
from parley_agent.providers.downloads import fetch_local_models
from parley_agent.providers.factory import (
    Providers,
    build_providers,
    check_requirements,
    preload_local_models,
)
from parley_agent.providers.local_llm import (
    LOCAL_LLM_URL_ENV,
    start_local_llm,
    stop_local_llm,
    warm_prompt_cache,
)
from parley_agent.providers.model_packs import ModelUnavailableError
from parley_agent.providers.selection import (
    LLAMACPP,
    ProviderConfigError,
    ProviderPlan,
    plan_for_room,
    plan_providers,
)
from parley_agent.settings import AgentSettings, get_settings
from parley_agent.tools import build_tools, tool_env_from_settings
from parley_agent.tools.mcp_servers import build_mcp_toolsets
from parley_agent.turns import load_vad, session_turn_options
from parley_agent.worker_load import PromptLoadReports, load_options
from parley_common.agent_config import AgentConfig, parse_agent_config
from parley_common.env_file import EnvFileError, describe_env_file, find_env_file

logger = logging.getLogger("parley.worker")


@lru_cache(maxsize=1)
def worker_plan() -> ProviderPlan:
    """The worker's own provider plan (from its settings); rooms may override parts."""
    return plan_providers(get_settings())


def prewarm(proc: JobProcess) -> None:
    """Load what every job needs once per process, before a job arrives."""
    proc.userdata["vad"] = load_vad()
    warm_tls()  # every job's HTTP clients reuse its TLS contexts (parley_agent.http_clients)
    _import_openai_client()
    # The framework's chat message model builds its pydantic schema on first use, which
    # would be the session's first instructions update, on the job's loop.
    llm.ChatContext().add_message(role="system", content="prewarm")
    # The transcript synchronizer's hyphenator builds its pattern tree on first use: some
    # thousands of regular-expression calls (~140 ms) on the job's loop at the first reply.
    tokenize.basic.hyphenate_word("prewarm")
    try:
        preload_local_models(get_settings(), worker_plan())
    except (ModelUnavailableError, ProviderConfigError) as exc:
        # The job reports it again with its room id; the process stays usable for rooms
        # whose overrides choose providers that do work.
        logger.error("local model preload failed: %s", exc)


def _import_openai_client() -> None:
    """Import the OpenAI SDK's lazily loaded resources now, not on the job's event loop.

    Every LLM path (cloud, a user URL, the embedded runtime) goes through the OpenAI client;
    its first use imports ~1 s of modules, which otherwise blocks the first job's audio.
    """
    import openai
    from livekit.plugins import openai as _lk_openai  # noqa: F401

    client = openai.AsyncClient(api_key="prewarm", base_url="http://127.0.0.1:9/v1")
    _ = (client.chat.completions, client.audio.speech, client.audio.transcriptions, client.models)


def _register_plugins() -> None:
    """Import the installed LiveKit plugins on the main thread, before the CLI runs.

    A plugin registers itself on import and refuses to from any other thread; ``console``
    runs prewarm and the job in threads, so importing there failed ("Plugins must be
    registered on the main thread"). ``download-files`` also only sees registered plugins.
    """
    import importlib

    for name in ("openai", "deepgram", "cartesia", "silero"):
        try:
            importlib.import_module(f"livekit.plugins.{name}")
        except ImportError:
            continue  # not installed: check_requirements names it when the plan needs it


def server_options(settings: AgentSettings) -> dict[str, Any]:
    """``AgentServer`` keyword arguments from the settings (environment or ``.env``)."""
    options: dict[str, Any] = {
        "setup_fnc": prewarm,
        # Prewarm loads Whisper and Piper (and checks their SHA-256): seconds on a busy
        # 2-core machine, beyond the framework's 10 s default, after which it kills it.
        "initialize_process_timeout": 60.0,
        # From the settings, so `python agent.py dev` works with the documented defaults
        # instead of requiring LIVEKIT_URL to be exported.
        "ws_url": settings.livekit_url,
        "api_key": settings.livekit_api_key,
        "api_secret": settings.livekit_api_secret,
        # SIGTERM drains: no new jobs, live conversations get this long to finish (the
        # framework's default is 30 minutes, past any orchestrator's grace period).
        "drain_timeout": settings.drain_timeout,
    }
    if settings.http_port is not None:
        options["port"] = settings.http_port
    if settings.num_idle_processes is not None:
        options["num_idle_processes"] = settings.num_idle_processes
    # The load LiveKit routes by: the worker's seats (PARLEY_AGENT_MAX_JOBS) or the CPU.
    options.update(load_options(settings.max_jobs, settings.load_threshold))
    return options


def room_providers(
    settings: AgentSettings, config: AgentConfig, vad: VAD, ids: dict[str, str]
) -> tuple[ProviderPlan, Providers]:
    """The worker's plan with the room's overrides, built; the worker's own if those fail."""
    plan, problem = plan_for_room(settings, config.providers, worker_plan())
    if problem:
        logger.error(problem, extra=ids)
    try:
        return plan, build_providers(plan, settings, config, vad=vad)
    except (ModelUnavailableError, ProviderConfigError) as exc:
        if plan is worker_plan():
            raise
        logger.error("room providers failed (%s); using the worker's", exc, extra=ids)
        return worker_plan(), build_providers(worker_plan(), settings, config, vad=vad)


class ParleyServer(GoodbyeOnDrainServer, PromptLoadReports):
    """The framework's server, whose drain asks live jobs to say goodbye before the deadline
    (drain_goodbye) and which reports its load the moment a job starts or ends (worker_load)."""


server = ParleyServer(
    goodbye_window=get_settings().goodbye_window, **server_options(get_settings())
)


# on_session_end: a conversation that ended normally is reported done before the job leaves
# the room, so LiveKit records JS_SUCCESS instead of "agent worker left the room".
@server.rtc_session(agent_name=get_settings().agent_name, on_session_end=end_job)
async def entrypoint(ctx: JobContext) -> None:
    settings = get_settings()
    ids = {"room": ctx.room.name, "job_id": ctx.job.id}
    ctx.log_context_fields = ids

    # 1. What the room asked for: persona, language, mode, tools, provider overrides.
    config, problem = parse_agent_config(ctx.job.metadata)
    if problem:
        logger.error("bad dispatch metadata, using defaults: %s", problem, extra=ids)

    # 2. Providers: STT, LLM, TTS (or one realtime model), as planned for this room.
    vad = ctx.proc.userdata.get("vad") or load_vad()
    # A language the room's plan cannot serve becomes one it can (agent/capabilities.py).
    planned, _ = plan_for_room(settings, config.providers, worker_plan())
    config = served_config(config, await room_capabilities(settings, planned), ids)
    plan, providers = room_providers(settings, config, vad, ids)
    logger.info("job %s", plan.describe(), extra=ids)

    # 3. Turn handling and the session; latency logged and provider errors handled per turn.
    session: AgentSession = AgentSession(
        stt=providers.stt or NOT_GIVEN,
        llm=providers.llm,
        tts=providers.tts or NOT_GIVEN,
        vad=vad,
        **session_turn_options(settings, has_stt=providers.stt is not None),
        # Three unrecoverable provider errors in a row end the session (framework rule);
        # each one before that gets the apology from ErrorPolicy.
        conn_options=SessionConnectOptions(max_unrecoverable_errors=3),
    )
    TurnLatencyTracker(**ids).attach(session)
    ErrorPolicy(session, **ids)
    # The session closes when the user leaves (close_on_disconnect); the job then leaves
    # the room and its process returns to the pool instead of idling in an empty room.
    session.on("close", lambda ev: ctx.shutdown(reason=f"session closed: {ev.reason}"))
    track_close(session, ctx.job.id)
    leave_when_drained(ctx, session, ids)  # a draining worker's goodbye, near its deadline

    # 4. Tools the room enabled (in meeting mode the transcript tool reads the meeting's).
    meeting = MeetingRuntime(config.agent_display_name) if config.mode == "meeting" else None
    tool_http = async_http_client()
    ctx.add_shutdown_callback(tool_http.aclose)
    env = tool_env_from_settings(
        settings, tool_http, ctx.room.name, transcript=meeting.store if meeting else None
    )
    tools: list[llm.Tool | llm.Toolset] = [*build_tools(config, env)]
    if meeting is not None:
        backend = ChatBackend(tool_http, settings.backend_url, settings.agent_token, ctx.room.name)
        meeting.enable_chat(
            backend, settings.meeting_chat_replies, meeting_rules(config.agent_display_name)
        )
    # The operator's MCP servers this room's config allows (none by default); the agent
    # connects them when it starts, and one that cannot connect is logged and left out.
    tools += build_mcp_toolsets(
        settings.mcp_servers,
        config.mcp,
        call_timeout_s=settings.tool_timeout_s,
        connect_timeout_s=settings.mcp_connect_timeout_s,
        taken=[tool.info.name for tool in tools if isinstance(tool, llm.FunctionTool)],
        ids=ids,
    )

    # 5. The agent class for the mode.
    agent: ConversationAgent
    if meeting is None:
        agent = ConversationAgent(config, tools=tools)
    else:
        agent = MeetingAgent(
            config,
            tools=tools,
            runtime=meeting,
            room=ctx.room,
            answers=settings.meeting_answers,
            embedded_llm=plan.llm.chain[:1] == (LLAMACPP,),
        )

    # A job taking over a lost conversation starts with what was said so far.
    earlier = await room_history(
        tool_http, settings.backend_url, settings.agent_token, ctx.room.name
    )
    if earlier is not None:
        await agent.update_chat_ctx(earlier)

    # 6. History: every turn, then the agent's summary, to the backend (never blocking).
    attach_history(session, ctx, config, settings, summary=agent.session_summary)

    # RoomIO linked to a fixed identity (meeting mode) reads the local participant at start.
    await ctx.connect()
    await session.start(
        agent=agent,
        room=ctx.room,
        room_options=room_io.RoomOptions(close_on_disconnect=True, **meeting_link(config)),
    )


def start_embedded_llm() -> None:
    """Start llama.cpp in this (main) process so all job processes share one loaded model;
    job processes find it through ``PARLEY_LOCAL_LLM_URL`` (inherited environment)."""
    settings = get_settings()
    if not worker_plan().uses(LLAMACPP) or os.environ.get(LOCAL_LLM_URL_ENV):
        return
    url, model = start_local_llm(
        gguf=settings.llm_gguf,
        threads=settings.llm_threads,
        ctx=settings.llm_ctx,
        cache_dir=settings.model_cache_dir / "llm",
    )
    os.environ[LOCAL_LLM_URL_ENV] = url
    warm_prompt_cache(url, build_instructions(AgentConfig()))
    print(f"parley: local LLM runtime {model.describe()} serving at {url}", file=sys.stderr)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    publisher: CapabilityPublisher | None = None
    try:
        env_file = find_env_file()
    except EnvFileError as exc:
        print(f"parley: cannot start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from exc
    if command in ("dev", "start", "console", "connect"):
        try:
            plan = worker_plan()
            # One line at start-up: what was chosen and why, and where the settings came from.
            print(
                f"parley: {plan.describe()} [{describe_env_file(env_file)}]",
                file=sys.stderr,
                flush=True,
            )
            check_requirements(plan)
            if command == "console":
                check_console_audio()
            start_embedded_llm()
            if command in ("dev", "start"):
                # The backend tells the web client what this stack serves (agent/capabilities.py).
                publisher = start_publishing(get_settings(), plan)
        except (ProviderConfigError, ModelUnavailableError, ConsoleUnavailableError) as exc:
            print(f"parley: cannot start: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(2) from exc
    elif command == "download-files":
        print(f"parley: download-files [{describe_env_file(env_file)}]", file=sys.stderr)
        try:
            settings = get_settings()
            for line in fetch_local_models(settings, cache_dir=settings.model_cache_dir):
                print(f"parley: {line}", file=sys.stderr, flush=True)
        except ModelUnavailableError as exc:
            print(f"parley: download-files failed: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(2) from exc
    _register_plugins()
    try:
        cli.run_app(server)
    finally:
        # Stop llama.cpp while the interpreter is intact: left to interpreter teardown, its
        # server threads outlive the objects they use and the process dies with SIGSEGV.
        stop_local_llm()
        if publisher is not None:
            publisher.stop()

"""The LiveKit Agents server: prewarm, explicit dispatch by name, one session per job."""

from __future__ import annotations

import logging

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, JobProcess, cli
from livekit.plugins import silero

from parley_agent.providers.espeak_tts import EspeakTTS
from parley_agent.settings import get_settings
from parley_common.agent_config import AgentConfig, parse_agent_config

logger = logging.getLogger("parley.worker")


def prewarm(proc: JobProcess) -> None:
    """Load what every job needs once per process, before a job arrives."""
    proc.userdata["vad"] = silero.VAD.load()


def _server_options() -> dict:
    settings = get_settings()
    options: dict = {"setup_fnc": prewarm}
    if settings.http_port is not None:
        options["port"] = settings.http_port
    if settings.num_idle_processes is not None:
        options["num_idle_processes"] = settings.num_idle_processes
    if settings.load_threshold is not None:
        options["load_threshold"] = settings.load_threshold
    return options


server = AgentServer(**_server_options())


class ParleyAgent(Agent):
    def __init__(self, config: AgentConfig) -> None:
        super().__init__(instructions=f"You are Parley, a {config.persona}.")
        self.config = config

    async def on_enter(self) -> None:
        self.session.say(self.config.default_greeting())


@server.rtc_session(agent_name=get_settings().agent_name)
async def entrypoint(ctx: JobContext) -> None:
    ctx.log_context_fields = {"room": ctx.room.name, "job_id": ctx.job.id}
    config, problem = parse_agent_config(ctx.job.metadata)
    if problem:
        logger.error("bad dispatch metadata, using defaults: %s", problem)
    settings = get_settings()
    session = AgentSession(vad=ctx.proc.userdata["vad"], tts=EspeakTTS(voice=settings.espeak_voice))
    await session.start(agent=ParleyAgent(config), room=ctx.room)


def main() -> None:
    cli.run_app(server)

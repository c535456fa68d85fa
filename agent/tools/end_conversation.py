"""End the conversation: say goodbye, then close the session once the goodbye has played."""

from __future__ import annotations

import asyncio

from livekit.agents import AgentSession, RunContext, function_tool, get_job_context
from livekit.agents.llm import FunctionTool, ToolResult

from parley_agent.tools.base import ToolEnv, logger

GOODBYE = "Thanks for talking with me. Goodbye!"


def say_goodbye_and_end(session: AgentSession, goodbye: str, max_wait_s: float) -> bool:
    """Say ``goodbye``, then close the session and the job once it has played (from a task:
    speech started inside a tool or turn hook cannot be awaited there). False when the
    session was already closing."""
    try:
        handle = session.say(goodbye, allow_interruptions=False)
    except RuntimeError as exc:  # the session is already closing
        logger.info("goodbye while closing: %s", exc)
        return False

    async def close_after_goodbye() -> None:
        # Bounded wait: a stuck audio output must not keep the agent in the room forever.
        try:
            await asyncio.wait_for(asyncio.shield(handle.wait_for_playout()), max_wait_s)
        except TimeoutError:
            logger.warning("goodbye did not finish playing; closing anyway")
        logger.info("ending the conversation at the user's request")
        session.shutdown(drain=False)
        try:
            get_job_context().shutdown(reason="end_conversation")
        except RuntimeError:
            pass  # no job (text harness): closing the session is the whole job

    task = asyncio.get_running_loop().create_task(close_after_goodbye())
    _background.add(task)
    task.add_done_callback(_background.discard)
    return True


def make_end_conversation_tool(env: ToolEnv, goodbye: str = GOODBYE) -> FunctionTool:
    async def end_conversation(context: RunContext) -> ToolResult:
        """End the conversation and leave. Call only when the user clearly says goodbye or
        asks you to stop or leave; never when the intent is unclear."""
        if not say_goodbye_and_end(context.session, goodbye, env.timeout_s * 3):
            return ToolResult(output="The conversation is already ending.", reply_required=False)
        return ToolResult(output="Said goodbye; the conversation is ending.", reply_required=False)

    return function_tool(end_conversation)


_background: set[asyncio.Task[None]] = set()

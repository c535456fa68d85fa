"""Questions about the meeting, answered from the transcript the agent keeps."""

from __future__ import annotations

from livekit.agents import RunContext, function_tool
from livekit.agents.llm import FunctionTool, ToolResult

from parley_agent.meeting.questions import answer_question
from parley_agent.tools.base import ToolEnv, logger


def make_meeting_transcript_tool(env: ToolEnv) -> FunctionTool:
    async def meeting_transcript(context: RunContext, question: str) -> str | ToolResult:
        """Answer a question about this meeting from its transcript: what someone said
        (optionally about a topic), what was decided, the action items, or a summary so far.

        Args:
            question: The question as asked, e.g. "what did Ana say about the budget?".
        """
        store = env.transcript
        answer = answer_question(store, question[:500])
        logger.info("transcript question kind=%s found=%s", answer.kind, answer.found)
        if not answer.found:
            # Honest by construction: the fixed sentence is spoken, the model is not asked.
            context.session.say(answer.text)
            return ToolResult(
                output=f"Not in the transcript; told the user: {answer.text!r}",
                reply_required=False,
            )
        if answer.kind == "general":
            return (
                "Meeting transcript (answer only from it; if it does not answer the question, "
                "say so):\n" + store.render(max_chars=4000)
            )
        return answer.grounding()

    return function_tool(meeting_transcript)

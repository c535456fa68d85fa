"""What the running stack serves: ``GET /api/capabilities`` (public) and the workers' reports.

Workers post to ``POST /api/agent/capabilities`` (agent token); the registry
(parley_backend.capability_registry) keeps the latest per worker. The public answer holds
languages, tool availability, provider and model names and notes: no keys, no URLs, no paths.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from parley_backend.access_policy import agent_caller, anonymous_caller
from parley_backend.capability_registry import CapabilityRegistry, Source
from parley_backend.schemas import ERROR_RESPONSES
from parley_common.capabilities import (
    AGENT_CAPABILITIES_ROUTE,
    CAPABILITIES_PATH,
    Capabilities,
    CapabilityReport,
)
from parley_common.wire import AGENT_API_PREFIX

logger = logging.getLogger("parley.backend.capabilities")

public_router = APIRouter(tags=["capabilities"], dependencies=[Depends(anonymous_caller)])
agent_router = APIRouter(
    prefix=AGENT_API_PREFIX,
    tags=["agent"],
    dependencies=[Depends(agent_caller)],
    responses=ERROR_RESPONSES,
)


class ToolsOut(BaseModel):
    # True: tools work; False: the LLM cannot call them; None: not known (a custom endpoint).
    available: bool | None
    reason: str


class CapabilitiesOut(BaseModel):
    languages: list[str]
    tools: ToolsOut
    notes: list[str]
    source: Source
    workers: int
    detail: Capabilities


class ReportAck(BaseModel):
    worker_id: str
    languages: list[str]


def registry(request: Request) -> CapabilityRegistry:
    found: CapabilityRegistry = request.app.state.capabilities
    return found


def capabilities_out(reg: CapabilityRegistry) -> CapabilitiesOut:
    caps, source, workers = reg.current()
    llm = caps.llm
    return CapabilitiesOut(
        languages=caps.languages,
        tools=ToolsOut(
            available=llm.tool_calling if llm else None,
            reason=(llm.reason if llm else "") or "",
        ),
        notes=caps.notes,
        source=source,
        workers=workers,
        detail=caps,
    )


@public_router.get(
    CAPABILITIES_PATH,
    response_model=CapabilitiesOut,
    summary="Languages and tools the running agent stack serves",
    description="The intersection of what the live workers reported; before any worker "
    "reported, the configured defaults (PARLEY_DEFAULT_LANGUAGES).",
)
async def get_capabilities(request: Request) -> CapabilitiesOut:
    return capabilities_out(registry(request))


@agent_router.post(
    AGENT_CAPABILITIES_ROUTE,
    response_model=ReportAck,
    summary="A worker reports what it serves (re-posted periodically)",
)
async def post_capabilities(request: Request, body: CapabilityReport) -> ReportAck:
    registry(request).record(body)
    logger.info(
        "capabilities reported",
        extra={"worker_id": body.worker_id, "languages": ",".join(body.capabilities.languages)},
    )
    return ReportAck(worker_id=body.worker_id, languages=body.capabilities.languages)

"""The user's consent before money is spent, something is published, or something is deleted.

A tool that needs consent takes an `Approval` filled by a resolver (the SDK's `Resolve`/`Elicit`
pattern, which works in both protocol eras: a live `elicitation/create` on 2025 connections, an
`input_required` round-trip on 2026 ones). The resolver calls `ask`, which only asks when the client
declared form elicitation — asking a client that cannot answer is a protocol error the model could
not read. Then the tool calls `require`, the one place the decision is made:

- the user was asked: approve → go ahead; decline, cancel or "no" → `ConsentDeclined`, nothing done;
- the client cannot ask: go ahead only if the call says `confirm=true` *and* the tool's toolset was
  explicitly enabled (named in MOSAIC_MCP_TOOLSETS, or `all`; not merely the default), else
  `ConsentRequired` explaining how to proceed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field

from .api.errors import MosaicMCPError
from .config import Settings

CONFIRM_HELP = (
    "Only when the client cannot show a confirmation prompt: set true after the user explicitly agreed "
    "to this exact action in the conversation."
)


class Approval(BaseModel):
    """The one-field form the user answers."""

    approve: bool = Field(description="Yes, do it.")


class NotAsked(BaseModel):
    """The client cannot show a confirmation prompt (no form elicitation)."""


Asked = Approval | NotAsked | Elicit[Approval]
"""What a consent resolver returns (see `ask`)."""
Answer = ElicitationResult[Approval | NotAsked]
"""What a consent-needing tool receives from its resolver."""


class ConsentDeclined(MosaicMCPError):
    """The user said no (or dismissed the prompt); nothing was done."""


class ConsentRequired(MosaicMCPError):
    """The client cannot ask the user and the call does not carry a valid confirmation."""


def can_elicit(ctx: Context[Any, Any]) -> bool:
    """Whether the client declared form elicitation (a bare `elicitation: {}` counts)."""
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def ask(ctx: Context[Any, Any], question: str, *, check: Callable[[], None] | None = None) -> Asked:
    """For a resolver: ask `question` if the client can show it. `check` validates the input first,
    so the user is never asked to approve something that would be refused anyway."""
    if check is not None:
        try:
            check()
        except MosaicMCPError as exc:  # resolvers run outside the registrar's error translation
            raise ToolError(str(exc)) from None
    if not can_elicit(ctx):
        return NotAsked()
    return Elicit(question, Approval)


def explicitly_enabled(settings: Settings, toolset: str) -> bool:
    """Whether MOSAIC_MCP_TOOLSETS was set and names `toolset` (or `all`), rather than defaulting."""
    if "toolsets" not in settings.model_fields_set:
        return False
    return "all" in settings.toolsets or toolset in settings.toolsets


def require(answer: Answer, *, action: str, confirm: bool, settings: Settings, toolset: str) -> None:
    """Return if `action` may go ahead; otherwise raise an error the model can relay to the user."""
    if isinstance(answer, AcceptedElicitation):
        if isinstance(answer.data, Approval):
            if answer.data.approve:
                return
            raise ConsentDeclined(f"The user did not approve {action}; nothing was done.")
        _confirmed_without_prompt(action, confirm, settings, toolset)
        return
    how = "declined" if answer.action == "decline" else "dismissed the confirmation for"
    raise ConsentDeclined(f"The user {how} {action}; nothing was done. Do not retry unless the user asks again.")


def _confirmed_without_prompt(action: str, confirm: bool, settings: Settings, toolset: str) -> None:
    if not explicitly_enabled(settings, toolset):
        raise ConsentRequired(
            f"{action[0].upper()}{action[1:]} needs the user's approval, and this client cannot show a "
            f"confirmation prompt. Without one it is allowed only when the '{toolset}' toolset is enabled by "
            f"name (MOSAIC_MCP_TOOLSETS={toolset} or all) and the call carries confirm=true. Nothing was done."
        )
    if not confirm:
        raise ConsentRequired(
            f"{action[0].upper()}{action[1:]} needs the user's approval, and this client cannot show a "
            "confirmation prompt. Tell the user exactly what will happen; only if they agree, call again "
            "with confirm=true. Nothing was done."
        )

"""The user's consent before money is spent, something is published, or something is deleted.

A tool that needs consent takes an `Approval` filled by a resolver (the SDK's `Resolve`/`Elicit`
pattern, which works in both protocol eras: a live `elicitation/create` on 2025 connections, an
`input_required` round-trip on 2026 ones). The resolver calls `ask`, which only asks when the client
declared form elicitation — asking a client that cannot answer is a protocol error the model could
not read. Then the tool calls `require`, the one place the decision is made:

- the user was asked: approve → go ahead; decline, cancel or "no" → `ConsentDeclined`, nothing done.
  The answer in the prompt is the only gate; `confirm` and the settings play no part.
- the client cannot ask: go ahead only if the person running the server allowed this kind of action
  without a prompt (MOSAIC_MCP_ALLOW_WITHOUT_PROMPT names `payments`, `publishing` or `deleting`;
  no toolset, not even `all`, implies it) *and* the call says `confirm=true` — a real JSON boolean
  (see `Confirmation`). Otherwise `ConsentRequired` says what the person must set and what the model
  must do.
"""

from collections.abc import Callable
from typing import Any, Literal, get_args

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, BeforeValidator, Field

from .api.errors import MosaicMCPError
from .config import UNPROMPTED_KINDS, Settings

Kind = Literal["payments", "publishing", "deleting"]
"""What kind of action needs consent; each is allowed without a prompt separately."""
PAYMENTS: Kind = "payments"
"""Buying credits, changing the plan, turning on auto top-up."""
PUBLISHING: Kind = "publishing"
"""Publishing a post, or changing when or whether a scheduled post is published."""
DELETING: Kind = "deleting"
"""Deleting agents and posts, disconnecting social accounts."""
assert get_args(Kind) == UNPROMPTED_KINDS  # the setting and the kinds are one list

SETTING = "MOSAIC_MCP_ALLOW_WITHOUT_PROMPT"


def confirm_help(kind: Kind) -> str:
    """The description of a tool's `confirm` parameter (the catalogue reads the kind back from it)."""
    return (
        "Only when the client cannot show a confirmation prompt: true (a JSON boolean) after the user explicitly "
        f"agreed to this exact action in the conversation. It works only if the person running this server set "
        f"{SETTING} to include {kind}."
    )


def kind_of(confirm_description: str | None) -> Kind | None:
    """The kind of action a `confirm` parameter with this description confirms (None: not one of ours)."""
    return next((k for k in get_args(Kind) if confirm_help(k) == confirm_description), None)


def real_boolean(value: object) -> object:
    """Refuse anything but a JSON boolean for `confirm`, naming the parameter: "true", 1 or "yes"
    from a model is not a decision."""
    # The SDK's pre-parse of JSON-looking strings leaves "true" a string (json.loads gives True, an
    # int, which it skips), so the string arrives here and is refused; tests/toolsets/test_consent.py
    # would notice if a later SDK turned it into a bool first.
    if not isinstance(value, bool):
        got = "a string" if isinstance(value, str) else f"a {type(value).__name__}"
        raise ValueError(f"confirm must be the JSON boolean true or false, not {got}; nothing was done")
    return value


REAL_BOOLEAN = BeforeValidator(real_boolean)
"""Metadata for a `confirm` parameter (see tools/_common.py), together with `strict=True`."""


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
    """The client cannot ask the user and the call is not allowed without a prompt."""


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


def allowed_without_prompt(settings: Settings, kind: Kind) -> bool:
    """Whether the person running the server allowed `kind` for clients that cannot ask."""
    return kind in settings.allow_without_prompt


def require(answer: Answer, *, action: str, kind: Kind, confirm: bool, settings: Settings) -> None:
    """Return if `action` may go ahead; otherwise raise an error the model can relay to the user."""
    if isinstance(answer, AcceptedElicitation):
        if isinstance(answer.data, Approval):
            if answer.data.approve:
                return
            raise ConsentDeclined(f"The user did not approve {action}; nothing was done.")
        _confirmed_without_prompt(action, kind, confirm, settings)
        return
    how = "declined" if answer.action == "decline" else "dismissed the confirmation for"
    raise ConsentDeclined(f"The user {how} {action}; nothing was done. Do not retry unless the user asks again.")


def _confirmed_without_prompt(action: str, kind: Kind, confirm: bool, settings: Settings) -> None:
    lead = (
        f"{action[0].upper()}{action[1:]} needs the user's approval, and this client cannot show a confirmation "
        "prompt. Nothing was done."
    )
    if not allowed_without_prompt(settings, kind):
        raise ConsentRequired(
            f"{lead} Without a prompt this is allowed only if the person running this server adds {kind} to "
            f"{SETTING} (for example {SETTING}={kind} in the MCP host's configuration for mosaic-mcp, then a "
            "restart); a model cannot set it. Tell the user what to set. Once it is set, and only after the user "
            "agreed to this exact action, call again with confirm=true."
        )
    if not confirm:
        raise ConsentRequired(
            f"{lead} Tell the user exactly what will happen; only if they agree, call again with confirm=true."
        )

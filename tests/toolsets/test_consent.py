"""Spending money, publishing and deleting ask the user first — or need an explicit confirmation."""

from typing import Any, Literal

import pytest
from mcp import Client
from mcp.server.elicitation import AcceptedElicitation, DeclinedElicitation
from mcp.types import ElicitRequestParams, ElicitResult

from mosaic_mcp.server import consent
from mosaic_mcp.server.config import load_settings
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID

from ..support import call_error, call_ok, text_of

pytestmark = pytest.mark.anyio


class User:
    """An elicitation callback that answers like a user, and remembers what it was asked."""

    def __init__(self, action: Literal["accept", "decline", "cancel"], approve: bool = True) -> None:
        self.action = action
        self.approve = approve
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)
        content = {"approve": self.approve} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)


async def test_accepted_purchase_happens(server: Any, mode: str, sandbox: RunningSandbox) -> None:
    """The user approves through elicitation: the credits are bought."""
    user = User("accept")
    async with Client(server, mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        result = await call_ok(client, "buy_credits", {"credits": 500})
    assert result["success"] is True
    assert result["credits_purchased"] == 500
    assert len(user.questions) == 1
    assert "500" in user.questions[0]
    assert sandbox.sandbox.count("POST", "/credits/buy") == 1


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_declined_purchase_does_nothing(server: Any, mode: str, sandbox: RunningSandbox, action: Any) -> None:
    """Decline or cancel: nothing is bought, and the model is told so."""
    async with Client(server, mode=mode, elicitation_callback=User(action)) as client:  # type: ignore[arg-type]
        message = await call_error(client, "upgrade_plan", {"plan_id": "professional"})
    assert "nothing was done" in message
    assert sandbox.sandbox.count("POST", "/plan/upgrade") == 0


async def test_answering_no_does_nothing(server: Any, mode: str, sandbox: RunningSandbox) -> None:
    """Accepting the form with approve=false counts as a refusal."""
    async with Client(server, mode=mode, elicitation_callback=User("accept", approve=False)) as client:  # type: ignore[arg-type]
        message = await call_error(client, "delete_agent", {"agent_id": CAPTIONS_AGENT_ID})
    assert "did not approve" in message
    assert sandbox.sandbox.count("*", "/agent/{agent_id}/delete") == 0


async def test_without_elicitation_refused_unless_confirmed(client: Client, sandbox: RunningSandbox) -> None:
    """A client that cannot ask: refused with how to proceed; confirm=true (toolset named) goes ahead."""
    message = await call_error(client, "buy_credits", {"credits": 200})
    assert "confirm=true" in message
    assert "Nothing was done" in message
    assert sandbox.sandbox.count("POST", "/credits/buy") == 0
    result = await call_ok(client, "buy_credits", {"credits": 200, "confirm": True})
    assert result["credits_purchased"] == 200
    assert sandbox.sandbox.count("POST", "/credits/buy") == 1


async def test_publishing_asks_with_the_post(server: Any, mode: str, sandbox: RunningSandbox) -> None:
    """create_social_post shows the user what will be published, then publishes once approved."""
    user = User("accept")
    async with Client(server, mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        link = await call_ok(client, "connect_social_account", {"platform": "linkedin"})
        assert link["connect_url"].startswith("http")
        accounts = await call_ok(client, "list_social_connections")
        destination = accounts["connected_accounts"][0]["social_connection_id"]
        post = await call_ok(client, "create_social_post", {"destinations": [destination], "post": "Launch day!"})
    assert post["post_id"]
    assert "Launch day!" in user.questions[0]
    assert sandbox.sandbox.count("POST", "/social/post") == 1


async def test_invalid_input_is_refused_before_asking(server: Any, mode: str, sandbox: RunningSandbox) -> None:
    """The user is never asked to approve something the API would refuse anyway."""
    user = User("accept")
    async with Client(server, mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        result = await client.call_tool("buy_credits", {"credits": 300, "success_url": "ftp://example.com"})
    assert result.is_error
    assert "success_url" in text_of(result)
    assert user.questions == []
    assert sandbox.sandbox.count("POST", "/credits/buy") == 0


async def test_harmless_variant_needs_no_consent(server: Any, mode: str, sandbox: RunningSandbox) -> None:
    """Turning auto top-up off spends nothing, so nobody is asked."""
    user = User("decline")
    async with Client(server, mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        result = await call_ok(client, "update_credit_settings", {"enabled": False, "threshold": 0, "quantity": 0})
    assert result["auto_topup"]["enabled"] is False
    assert user.questions == []


def test_confirm_alone_is_not_enough_without_an_explicit_toolset() -> None:
    """With MOSAIC_MCP_TOOLSETS left at its default, confirm=true cannot stand in for the user."""
    default = load_settings()
    explicit = load_settings(toolsets="core")
    not_asked: Any = AcceptedElicitation(data=consent.NotAsked())
    with pytest.raises(consent.ConsentRequired, match="enabled by name"):
        consent.require(not_asked, action="buying credits", confirm=True, settings=default, toolset="core")
    consent.require(not_asked, action="buying credits", confirm=True, settings=explicit, toolset="core")
    with pytest.raises(consent.ConsentDeclined):
        consent.require(DeclinedElicitation(), action="x", confirm=True, settings=explicit, toolset="core")

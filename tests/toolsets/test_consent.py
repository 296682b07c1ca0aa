"""Paying, publishing and deleting ask the user first — or, without a prompt, need a person's setting and confirm."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.server.elicitation import AcceptedElicitation, DeclinedElicitation
from mcp.types import ElicitRequestParams, ElicitResult

from mosaic_mcp.server import consent
from mosaic_mcp.server.app import MosaicServer, create_server
from mosaic_mcp.server.config import ConfigurationError, load_settings
from mosaic_mcp.server.sandbox import RunningSandbox
from mosaic_mcp.server.sandbox.seed import CAPTIONS_AGENT_ID
from mosaic_mcp.server.sandbox.social import Post

from ..support import (
    BUY_CREDITS,
    MOSAIC_KEY,
    MOTION_KEY,
    UPGRADE_PLAN,
    call_error,
    call_ok,
    sandbox_settings,
    sent,
    text_of,
)
from ..support.processes import mosaic_mcp_command

pytestmark = pytest.mark.anyio

SETTING = "MOSAIC_MCP_ALLOW_WITHOUT_PROMPT"
KINDS = ("payments", "publishing", "deleting")


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


# -- what each consent-needing call needs -------------------------------------------------------------


def connection(served: RunningSandbox) -> str:
    """A fresh connected social account in the sandbox."""
    return served.sandbox.social.connect({"platform": "linkedin"}).connection_id


def scheduled_post(served: RunningSandbox, *, paused: bool = False) -> Post:
    """A fresh post scheduled far in the future (optionally paused) in the sandbox."""
    body = {"destinations": [{"social_connection_id": connection(served)}], "schedule_date": "2099-01-01T00:00:00Z"}
    post = served.sandbox.social.publish({**body, "post": "Later"}, served.sandbox.now())
    post.paused = paused
    return post


Prepare = Callable[[RunningSandbox, Client], Awaitable[dict[str, Any]]]


async def buy(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of buy_credits."""
    return {"credits": 200}


async def upgrade(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of upgrade_plan."""
    return {"plan_id": "professional"}


async def topup_on(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of update_credit_settings that turn auto top-up on."""
    return {"enabled": True, "threshold": 50, "quantity": 500}


async def publish(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of create_social_post for a fresh account."""
    return {"destinations": [connection(served)], "post": "Launch day!"}


async def approve(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of update_social_post approving a scheduled post."""
    return {"post_id": scheduled_post(served).post_id, "approve": True}


async def unpause(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of update_social_post unpausing a paused scheduled post."""
    return {"post_id": scheduled_post(served, paused=True).post_id, "scheduled_pause": False}


async def reschedule(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of update_social_post moving a scheduled post to another time."""
    return {"post_id": scheduled_post(served).post_id, "schedule_date": "2099-06-01T12:00:00Z"}


async def delete_agent(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of delete_agent for a fresh agent (created through the free create_agent tool)."""
    return {"agent_id": (await call_ok(client, "create_agent", {"name": "Disposable"}))["agent_id"]}


async def delete_post(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of delete_social_post for a fresh post."""
    return {"post_id": scheduled_post(served).post_id}


async def disconnect(served: RunningSandbox, client: Client) -> dict[str, Any]:
    """Arguments of delete_social_connection for a fresh account."""
    return {"social_connection_id": connection(served)}


@dataclass(frozen=True)
class Case:
    """One consent-needing call: the tool, its kind of action, the request it sends, its arguments."""

    tool: str
    kind: str
    method: str
    route: str
    prepare: Prepare
    body: dict[str, Any] | None = None
    """The exact JSON body of a payment (a POST that starts something); None where the case does not pin it."""


CASES = [
    pytest.param(Case("buy_credits", "payments", "POST", BUY_CREDITS, buy, {"credits": 200}), id="buy_credits"),
    pytest.param(
        Case("upgrade_plan", "payments", "POST", UPGRADE_PLAN, upgrade, {"plan_id": "professional"}), id="upgrade_plan"
    ),
    pytest.param(Case("update_credit_settings", "payments", "POST", "/credits/settings", topup_on), id="topup_on"),
    pytest.param(Case("create_social_post", "publishing", "POST", "/social/post", publish), id="create_social_post"),
    pytest.param(Case("update_social_post", "publishing", "PATCH", "/social/post/*", approve), id="approve_post"),
    pytest.param(Case("update_social_post", "publishing", "PATCH", "/social/post/*", unpause), id="unpause_post"),
    pytest.param(Case("update_social_post", "publishing", "PATCH", "/social/post/*", reschedule), id="reschedule"),
    pytest.param(Case("delete_agent", "deleting", "*", "/agent/{agent_id}/delete", delete_agent), id="delete_agent"),
    pytest.param(Case("delete_social_post", "deleting", "DELETE", "/social/post/*", delete_post), id="delete_post"),
    pytest.param(
        Case("delete_social_connection", "deleting", "DELETE", "/social/connections/*", disconnect), id="disconnect"
    ),
]


# -- servers: every toolset, differing only in what is allowed without a prompt ------------------------


@pytest.fixture(scope="module")
def servers(served: RunningSandbox, home: Path) -> Callable[[str], MosaicServer]:
    """A server with every toolset and MOSAIC_MCP_ALLOW_WITHOUT_PROMPT set to the given list (built once each)."""
    built: dict[str, MosaicServer] = {}

    def server(allow: str) -> MosaicServer:
        if allow not in built:
            folder = home / (allow.replace(",", "-") or "none")
            built[allow] = create_server(
                sandbox_settings(served, folder, toolsets="all", allow_without_prompt=allow or None)
            )
        return built[allow]

    return server


@pytest.fixture
async def prepared(
    request: pytest.FixtureRequest, servers: Callable[[str], MosaicServer], served: RunningSandbox, mode: str
) -> tuple[Case, dict[str, Any]]:
    """The case's arguments, made with objects of its own; the request log then starts empty."""
    case: Case = request.param
    async with Client(servers(""), mode=mode) as setup:  # type: ignore[arg-type]
        args = await case.prepare(served, setup)
    served.sandbox.requests.clear()
    return case, args


def changes_sent(served: RunningSandbox) -> list[str]:
    """Every request the sandbox received that could change something (anything but a GET)."""
    return [f"{r.method} {r.path}" for r in served.sandbox.requests.records if r.method != "GET"]


async def call_without_prompt(server: MosaicServer, mode: str, tool: str, args: dict[str, Any]) -> Any:
    """Call `tool` from a client that cannot show a confirmation prompt (no elicitation)."""
    async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
        return await client.call_tool(tool, args)


@pytest.mark.parametrize("prepared", CASES, indirect=True)
async def test_without_a_prompt_confirm_needs_the_persons_setting(
    prepared: tuple[Case, dict[str, Any]], servers: Callable[[str], MosaicServer], served: RunningSandbox, mode: str
) -> None:
    """No prompt: toolsets=all + confirm=true is refused (also with every other kind allowed); the setting allows it."""
    case, args = prepared
    others = ",".join(k for k in KINDS if k != case.kind)
    for allow in ("", others):
        result = await call_without_prompt(servers(allow), mode, case.tool, {**args, "confirm": True})
        assert result.is_error, (allow, result.structured_content)
        message = text_of(result)
        assert f"{SETTING}={case.kind}" in message
        assert "a model cannot set it" in message
        assert "confirm=true" in message
        assert "Nothing was done" in message
        assert changes_sent(served) == []
    unconfirmed = await call_without_prompt(servers(case.kind), mode, case.tool, args)
    assert unconfirmed.is_error
    assert "call again with confirm=true" in text_of(unconfirmed)
    assert changes_sent(served) == []
    done = await call_without_prompt(servers(case.kind), mode, case.tool, {**args, "confirm": True})
    assert not done.is_error, text_of(done)
    assert served.sandbox.count(case.method, case.route) == 1
    if case.body is not None:
        assert sent(served, case.route) == [case.body]


@pytest.mark.parametrize("prepared", CASES, indirect=True)
async def test_confirm_must_be_a_json_boolean(
    prepared: tuple[Case, dict[str, Any]], servers: Callable[[str], MosaicServer], served: RunningSandbox, mode: str
) -> None:
    """Even where the kind is allowed, confirm "true", 1, "yes" (or "1") is refused, naming confirm; nothing is sent."""
    case, args = prepared
    server = servers(",".join(KINDS))
    for value in ("true", 1, "yes", "1", "True"):
        result = await call_without_prompt(server, mode, case.tool, {**args, "confirm": value})
        assert result.is_error, value
        assert "confirm must be the JSON boolean true or false" in text_of(result)
    assert changes_sent(served) == []


@pytest.mark.parametrize("prepared", CASES, indirect=True)
async def test_with_a_prompt_the_users_answer_decides(
    prepared: tuple[Case, dict[str, Any]], servers: Callable[[str], MosaicServer], served: RunningSandbox, mode: str
) -> None:
    """With a prompt: decline stops it (even with the setting and confirm=true); accept goes ahead without them."""
    case, args = prepared
    no = User("decline")
    async with Client(servers(case.kind), mode=mode, elicitation_callback=no) as client:  # type: ignore[arg-type]
        message = await call_error(client, case.tool, {**args, "confirm": True})
    assert "declined" in message
    assert "nothing was done" in message
    assert len(no.questions) == 1
    assert changes_sent(served) == []
    yes = User("accept")
    async with Client(servers(""), mode=mode, elicitation_callback=yes) as client:  # type: ignore[arg-type]
        await call_ok(client, case.tool, args)
    assert len(yes.questions) == 1
    assert served.sandbox.count(case.method, case.route) == 1
    if case.body is not None:
        assert sent(served, case.route) == [case.body]


async def test_rescheduling_and_unpausing_say_what_changes(
    servers: Callable[[str], MosaicServer], served: RunningSandbox, mode: str
) -> None:
    """The prompt for a scheduled post names the change: unpausing, the new time, approval."""
    post = scheduled_post(served, paused=True)
    user = User("accept")
    async with Client(servers(""), mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        args = {"post_id": post.post_id, "scheduled_pause": False, "schedule_date": "2099-03-03T09:00:00Z"}
        await call_ok(client, "update_social_post", args)
    assert len(user.questions) == 1
    assert post.post_id in user.questions[0]
    assert "unpause" in user.questions[0]
    assert "2099-03-03T09:00:00Z" in user.questions[0]
    assert post.paused is False


async def test_pausing_and_notes_need_no_consent(
    servers: Callable[[str], MosaicServer], served: RunningSandbox, mode: str
) -> None:
    """Pausing a scheduled post or annotating it publishes nothing: no prompt, no setting, no confirm."""
    post = scheduled_post(served)
    nobody = User("decline")
    async with Client(servers(""), mode=mode, elicitation_callback=nobody) as client:  # type: ignore[arg-type]
        await call_ok(client, "update_social_post", {"post_id": post.post_id, "scheduled_pause": True})
        await call_ok(client, "update_social_post", {"post_id": post.post_id, "notes": "check captions"})
    result = await call_without_prompt(servers(""), mode, "update_social_post", {"post_id": post.post_id, "notes": "x"})
    assert not result.is_error, text_of(result)
    assert nobody.questions == []
    assert post.paused is True


async def test_answering_no_does_nothing(servers: Callable[[str], MosaicServer], served: RunningSandbox) -> None:
    """Accepting the form with approve=false counts as a refusal."""
    user = User("accept", approve=False)
    async with Client(servers(""), elicitation_callback=user) as client:  # type: ignore[arg-type]
        message = await call_error(client, "delete_agent", {"agent_id": CAPTIONS_AGENT_ID})
    assert "did not approve" in message
    assert served.sandbox.count("*", "/agent/{agent_id}/delete") == 0


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_declined_purchase_does_nothing(
    servers: Callable[[str], MosaicServer], mode: str, served: RunningSandbox, action: Any
) -> None:
    """Decline or cancel: nothing is bought, and the model is told so."""
    async with Client(servers("payments"), mode=mode, elicitation_callback=User(action)) as client:  # type: ignore[arg-type]
        message = await call_error(client, "upgrade_plan", {"plan_id": "professional", "confirm": True})
    assert "nothing was done" in message
    assert sent(served, UPGRADE_PLAN) == []


async def test_publishing_asks_with_the_post(servers: Callable[[str], MosaicServer], served: RunningSandbox) -> None:
    """create_social_post shows the user what will be published, then publishes once approved."""
    user = User("accept")
    async with Client(servers(""), elicitation_callback=user) as client:  # type: ignore[arg-type]
        post = await call_ok(client, "create_social_post", {"destinations": [connection(served)], "post": "Hi all!"})
    assert post["post_id"]
    assert "Hi all!" in user.questions[0]


async def test_invalid_input_is_refused_before_asking(
    servers: Callable[[str], MosaicServer], mode: str, served: RunningSandbox
) -> None:
    """The user is never asked to approve something the API would refuse anyway."""
    user = User("accept")
    async with Client(servers(""), mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        bought = await client.call_tool("buy_credits", {"credits": 300, "success_url": "ftp://example.com"})
        moved = await client.call_tool("update_social_post", {"post_id": "p1", "schedule_date": "next tuesday"})
    assert bought.is_error
    assert "success_url" in text_of(bought)
    assert moved.is_error
    assert "schedule_date" in text_of(moved)
    assert user.questions == []
    assert changes_sent(served) == []


async def test_harmless_variant_needs_no_consent(servers: Callable[[str], MosaicServer], mode: str) -> None:
    """Turning auto top-up off spends nothing, so nobody is asked and nothing needs allowing."""
    user = User("decline")
    async with Client(servers(""), mode=mode, elicitation_callback=user) as client:  # type: ignore[arg-type]
        result = await call_ok(client, "update_credit_settings", {"enabled": False, "threshold": 0, "quantity": 0})
    assert result["auto_topup"]["enabled"] is False
    assert user.questions == []


# -- the rule itself, and the setting --------------------------------------------------------------------


def test_require_needs_the_kind_allowed_and_a_confirmation() -> None:
    """No prompt: neither the default nor toolsets=all allows; the named kind plus confirm does; "no" always wins."""
    not_asked: Any = AcceptedElicitation(data=consent.NotAsked())
    for settings in (load_settings(), load_settings(toolsets="all"), load_settings(allow_without_prompt="deleting")):
        with pytest.raises(consent.ConsentRequired, match=f"{SETTING}=payments"):
            consent.require(not_asked, action="buying credits", kind="payments", confirm=True, settings=settings)
    allowed = load_settings(allow_without_prompt="payments")
    consent.require(not_asked, action="buying credits", kind="payments", confirm=True, settings=allowed)
    with pytest.raises(consent.ConsentRequired, match="call again with confirm=true"):
        consent.require(not_asked, action="buying credits", kind="payments", confirm=False, settings=allowed)
    with pytest.raises(consent.ConsentDeclined):
        consent.require(DeclinedElicitation(), action="x", kind="payments", confirm=True, settings=allowed)


def test_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """MOSAIC_MCP_ALLOW_WITHOUT_PROMPT is a comma list, case-insensitive; unset means nothing is allowed."""
    assert load_settings().allow_without_prompt == []
    monkeypatch.setenv(SETTING, "Publishing, deleting")
    assert load_settings().allow_without_prompt == ["publishing", "deleting"]


@pytest.mark.parametrize("value", ["1", "true", "all", "spending"])
def test_setting_names_each_kind(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A yes-like value or an unknown kind is a configuration error naming the variable and the kinds."""
    monkeypatch.setenv(SETTING, value)
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert SETTING in str(raised.value)
    assert "payments, publishing, deleting" in str(raised.value)


async def test_serve_flag_allows_over_stdio(served: RunningSandbox, tmp_path: Path) -> None:
    """`mosaic-mcp serve --allow-without-prompt payments`: a host without elicitation can buy with confirm=true."""
    command = mosaic_mcp_command()
    env = {
        "MOSAIC_API_KEY": MOSAIC_KEY,
        "MOTION_API_KEY": MOTION_KEY,
        "MOSAIC_API_BASE_URL": served.mosaic_base_url,
        "MOTION_API_BASE_URL": served.motion_base_url,
        "MOSAIC_MCP_HOME": str(tmp_path / "home"),
    }
    flags = ["serve", "--toolsets", "account", "--allow-without-prompt", "payments"]
    params = StdioServerParameters(command=command[0], args=[*command[1:], *flags], env=env)
    with anyio.fail_after(60):
        async with Client(params) as client:
            bought = await call_ok(client, "buy_credits", {"credits": 300, "confirm": True})
    assert bought["credits_purchased"] == 300
    assert sent(served, BUY_CREDITS) == [{"credits": 300}]


@pytest.mark.parametrize("kind", ["payments", "publishing", "deleting"])
def test_a_confirm_description_names_its_own_kind(kind: consent.Kind) -> None:
    """kind_of reads back exactly the kind confirm_help wrote (the catalogue relies on it), and None for others."""
    assert consent.kind_of(consent.confirm_help(kind)) == kind
    assert consent.kind_of("Set to true to confirm.") is None
    assert consent.kind_of(None) is None

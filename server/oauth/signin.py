"""The sign-in page (`/signin`) and the account page (`/account`) of OAuth mode.

The SDK's `/authorize` sends the browser here (`MosaicOAuthProvider.authorize`). Step one: the person
pastes their Mosaic and/or Motion key; each is checked against its API (`keycheck.py`) and nothing is
issued while one is wrong. Step two shows the key's organisation and asks to allow the client; only
then is a code issued and the browser sent back to the client's registered redirect URI.

Every form carries a CSRF token bound to a cookie the page set (double submit, the token being the
cookie's keyed hash), so another site cannot post to these forms. Sign-in attempts are limited per
client address. The account page (a session cookie set on allowing) lists the connected clients and
signs out: the keys are forgotten and every token and code of the person is revoked.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..config import Settings
from . import pages
from .keycheck import check_keys
from .provider import MosaicOAuthProvider
from .store import OAuthStore
from .vault import Vault, new_secret


def person_id(subject: str) -> str:
    """The id of the person an OAuth subject is (`people.Person.id`)."""
    return f"oauth:{subject[:32]}"


__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "SignInPages"]

CSRF_COOKIE = "mosaic_mcp_csrf"
SESSION_COOKIE = "mosaic_mcp_session"
SESSION_SECONDS = 30 * 24 * 3600
MAX_FORM_BYTES = 16 * 1024
ATTEMPTS = 10
ATTEMPT_WINDOW = 300.0
"""At most ATTEMPTS key checks per client address per ATTEMPT_WINDOW seconds."""


class Attempts:
    """A sliding window of sign-in attempts per client address (in memory)."""

    def __init__(
        self, limit: int = ATTEMPTS, window: float = ATTEMPT_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, who: str) -> bool:
        """Count one attempt; whether it is within the limit."""
        now = self.clock()
        seen = self._seen[who]
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        return True


class SignInPages:
    """The routes of the sign-in and account pages."""

    def __init__(
        self, provider: MosaicOAuthProvider, settings_now: Callable[[], Settings], *, attempts: Attempts | None = None
    ) -> None:
        self.provider = provider
        self.store: OAuthStore = provider.store
        self.vault: Vault = provider.vault
        self.settings_now = settings_now
        """The settings the API clients use now (in sandbox mode, the emulator's URLs)."""
        self.attempts = attempts or Attempts()
        self.secure = provider.issuer.startswith("https://")
        self.on_signout: Callable[[str], Awaitable[None]] | None = None
        """Called with the person's id after a sign-out (the server drops the keys its poller sealed)."""

    def routes(self) -> list[Route]:
        """`/signin` (GET, POST), `/account` (GET) and `/account/signout` (POST)."""
        return [
            Route("/signin", self.signin_page, methods=["GET"]),
            Route("/signin", self.signin_post, methods=["POST"]),
            Route("/account", self.account_page, methods=["GET"]),
            Route("/account/signout", self.signout, methods=["POST"]),
        ]

    # -- sign-in ---------------------------------------------------------------------------------
    async def signin_page(self, request: Request) -> Response:
        """Step one's form, for a parked authorization request."""
        token = request.query_params.get("request", "")
        pending = await self.store.pending(self.vault.digest(token)) if token else None
        if pending is None:
            return _expired()
        name = await self._client_name(pending.client_id)
        return self._with_csrf(request, lambda csrf: pages.keys_form(name, token, csrf, {}))

    async def signin_post(self, request: Request) -> Response:
        """Step one (check the keys), step two (allow or cancel)."""
        form = await self._form(request)
        if form is None:
            return pages.message("Too large", "This form is larger than a sign-in can be.", status=413)
        if not self._csrf_ok(request, form.get("csrf", "")):
            return _csrf_refused()
        token = form.get("request", "")
        request_hash = self.vault.digest(token)
        pending = await self.store.pending(request_hash) if token else None
        if pending is None:
            return _expired()
        csrf = form["csrf"]
        name = await self._client_name(pending.client_id)
        step = form.get("step", "check")
        if step == "cancel":
            denied = await self.provider.deny(token)
            return _expired() if denied is None else RedirectResponse(denied, status_code=303)
        if step == "connect":
            return await self._connect(token, pending.subject, pending.keys, pending.organization)
        if not self.attempts.allow(_address(request)):
            return pages.message(
                "Too many attempts",
                "Too many sign-in attempts from here; wait a few minutes and try again.",
                status=429,
            )
        mosaic_key = form.get("mosaic_api_key", "").strip()
        motion_key = form.get("motion_api_key", "").strip()
        checked = await check_keys(self.settings_now(), mosaic_key, motion_key)
        if checked.problems:
            return pages.keys_form(name, token, csrf, checked.problems, status=400)
        subject = self.vault.digest(f"person\n{mosaic_key}\n{motion_key}")
        keys = self.vault.encrypt(json.dumps({"mosaic": mosaic_key or None, "motion": motion_key or None}))
        await self.store.prove_pending(request_hash, subject, checked.organization, keys)
        services = [s for s, k in (("Mosaic", mosaic_key), ("Motion", motion_key)) if k]
        return pages.consent(name, checked.organization, services, token, csrf)

    async def _connect(self, token: str, subject: str | None, keys: bytes | None, organization: str | None) -> Response:
        if subject is None or keys is None:
            return pages.message("Keys not checked", "Check your keys first: go back and submit them.", status=400)
        await self.store.save_person(subject, keys, organization)
        redirect = await self.provider.issue_code(token, subject)
        if redirect is None:
            return _expired()
        session = new_secret()
        await self.store.add_session(self.vault.digest(session), subject, SESSION_SECONDS)
        response = RedirectResponse(redirect, status_code=303, headers={"Cache-Control": "no-store"})
        response.set_cookie(
            SESSION_COOKIE, session, max_age=SESSION_SECONDS, httponly=True, secure=self.secure, samesite="strict"
        )
        return response

    # -- account ---------------------------------------------------------------------------------
    async def account_page(self, request: Request) -> Response:
        """The connected clients and the sign-out button, for the person of this browser."""
        subject = await self._subject(request)
        if subject is None:
            return _signed_out_here()
        person = await self.store.person(subject)
        clients = [name or client_id for client_id, name in await self.store.clients_of(subject)]
        organization = person[1] if person else None
        return self._with_csrf(request, lambda csrf: pages.account(organization, clients, csrf))

    async def signout(self, request: Request) -> Response:
        """Forget the person's keys and revoke every token, code and session of theirs."""
        form = await self._form(request)
        if form is None or not self._csrf_ok(request, form.get("csrf", "")):
            return _csrf_refused()
        subject = await self._subject(request)
        if subject is None:
            return _signed_out_here()
        clients = len(await self.store.clients_of(subject))
        await self.store.forget(subject)
        if self.on_signout is not None:
            await self.on_signout(person_id(subject))
        response = pages.message(
            "Signed out",
            f"Your keys are forgotten and {clients} connected client(s) are disconnected. "
            "Sign in again from your MCP host to reconnect.",
            status=200,
        )
        response.delete_cookie(SESSION_COOKIE, httponly=True, secure=self.secure, samesite="strict")
        return response

    # -- helpers ---------------------------------------------------------------------------------
    async def _client_name(self, client_id: str) -> str:
        client = await self.provider.get_client(client_id)
        return (client.client_name if client else None) or "An MCP client"

    async def _subject(self, request: Request) -> str | None:
        session = request.cookies.get(SESSION_COOKIE)
        return await self.store.session(self.vault.digest(session)) if session else None

    async def _form(self, request: Request) -> dict[str, str] | None:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_FORM_BYTES:
            return None
        form = await request.form(max_files=0, max_fields=10)
        return {k: v for k, v in form.items() if isinstance(v, str)}

    def _csrf_ok(self, request: Request, given: str) -> bool:
        nonce = request.cookies.get(CSRF_COOKIE)
        return bool(nonce and given) and self.vault.same(self.vault.digest(f"csrf\n{nonce}"), given)

    def _with_csrf(self, request: Request, render: Callable[[str], Response]) -> Response:
        nonce = request.cookies.get(CSRF_COOKIE) or new_secret()
        response = render(self.vault.digest(f"csrf\n{nonce}"))
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, secure=self.secure, samesite="strict")
        return response


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _expired() -> Response:
    return pages.message(
        "Sign-in expired",
        "This sign-in link has expired or was already used. Start again from your MCP host (connect once more).",
        status=400,
    )


def _csrf_refused() -> Response:
    return pages.message(
        "Form refused",
        "This form did not come from this page (CSRF check failed), or it expired. Reload the page and try again.",
        status=403,
    )


def _signed_out_here() -> Response:
    return pages.message(
        "Not signed in", "This browser is not signed in here. Connect from your MCP host to sign in.", status=401
    )

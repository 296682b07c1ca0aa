"""The HTML of the sign-in and account pages: small, accessible, no script, no third-party asset.

One stylesheet inline (allowed by its hash in the Content-Security-Policy), labelled fields, errors
tied to their field (`aria-describedby`) and announced (`role="alert"`). Every value is escaped.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from starlette.responses import HTMLResponse

__all__ = ["account", "consent", "keys_form", "message", "page"]

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "color:#111;background:#fff}"
    "label{display:block;font-weight:600;margin-top:1rem}input[type=password]{width:100%;padding:.5rem;font:inherit}"
    "button{margin-top:1.25rem;padding:.6rem 1.2rem;font:inherit;cursor:pointer}"
    ".error{color:#a00000;margin:.25rem 0}.hint{color:#444;font-size:.9rem}"
    "@media (prefers-color-scheme:dark){body{color:#eee;background:#111}.error{color:#ff8080}.hint{color:#bbb}}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; frame-ancestors 'none'; base-uri 'none'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    """A whole page."""
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · mosaic-mcp</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _hidden(request: str, csrf: str) -> str:
    return (
        f'<input type="hidden" name="request" value="{escape(request)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
    )


def _field(name: str, label: str, hint: str, error: str | None) -> str:
    described = f"{name}-hint" + (f" {name}-error" if error else "")
    error_html = f'<p class="error" id="{name}-error" role="alert">{escape(error)}</p>' if error else ""
    invalid = ' aria-invalid="true"' if error else ""
    return (
        f'<label for="{name}">{escape(label)}</label>'
        f'<p class="hint" id="{name}-hint">{escape(hint)}</p>{error_html}'
        f'<input type="password" id="{name}" name="{name}" autocomplete="off" spellcheck="false" '
        f'aria-describedby="{described}"{invalid}>'
    )


def keys_form(
    client_name: str, request: str, csrf: str, problems: dict[str, str], *, status: int = 200
) -> HTMLResponse:
    """Step 1: paste the keys."""
    summary = (
        '<p class="error" role="alert">No code was issued: fix the key marked below and try again.</p>'
        if problems
        else ""
    )
    body = (
        f"<p><strong>{escape(client_name)}</strong> asks to use Mosaic and Motion through this server, "
        "with your own keys. They are checked with Mosaic and Motion, then kept here only encrypted.</p>"
        f'{summary}<form method="post" action="/signin">{_hidden(request, csrf)}'
        + _field(
            "mosaic_api_key",
            "Mosaic API key",
            "Starts with mk_ (Mosaic dashboard → API keys).",
            problems.get("mosaic_api_key"),
        )
        + _field(
            "motion_api_key",
            "Motion API key",
            "Starts with motion_ (optional if you only use Mosaic).",
            problems.get("motion_api_key"),
        )
        + '<button type="submit" name="step" value="check">Check my keys</button></form>'
    )
    return page("Sign in with your keys", body, status=status)


def consent(client_name: str, organization: str | None, services: list[str], request: str, csrf: str) -> HTMLResponse:
    """Step 2: the keys work; allow the client."""
    org = (
        f"<p>Your Mosaic key belongs to the organisation <strong>{escape(organization)}</strong>.</p>"
        if organization
        else ""
    )
    body = (
        f'<p role="status">Your keys work: {escape(" and ".join(services))}.</p>{org}'
        f"<p>Allow <strong>{escape(client_name)}</strong> to start and follow jobs with them? "
        'You can disconnect it at any time from <a href="/account">your account page</a>.</p>'
        f'<form method="post" action="/signin">{_hidden(request, csrf)}'
        '<button type="submit" name="step" value="connect">Allow</button> '
        '<button type="submit" name="step" value="cancel">Cancel</button></form>'
    )
    return page("Allow access", body)


def account(organization: str | None, clients: list[str], csrf: str) -> HTMLResponse:
    """The account page: the connected clients, and signing out."""
    org = f"<p>Organisation: <strong>{escape(organization)}</strong></p>" if organization else ""
    items = "".join(f"<li>{escape(c)}</li>" for c in clients) or "<li>none</li>"
    body = (
        f"{org}<h2>Connected clients</h2><ul>{items}</ul><h2>Sign out</h2>"
        "<p>Signing out forgets your keys on this server and disconnects every client above.</p>"
        f'<form method="post" action="/account/signout"><input type="hidden" name="csrf" value="{escape(csrf)}">'
        '<button type="submit">Sign out everywhere</button></form>'
    )
    return page("Your account", body)


def message(title: str, text: str, *, status: int) -> HTMLResponse:
    """A page with one sentence on it (an error, or a confirmation)."""
    role = "alert" if status >= 400 else "status"
    return page(title, f'<p role="{role}">{escape(text)}</p>', status=status)

"""OAuth 2.0 for public apps: the consent pages, the token endpoint and token information.

The pages are server-rendered HTML. A browser's nonce lives in a cookie; every form carries a
token signed over it, so a form posted from another site is refused (see ``oauth_forms``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from localspot import scopes as sc
from localspot.domain import oauth_authorize, oauth_server
from localspot.domain.oauth_authorize import AuthRequest, Consent, Refused
from localspot.domain.oauth_forms import FormSigner, InvalidForm, new_nonce
from localspot.domain.oauth_server import Refusal
from localspot.faces.http import JSON, Ctx, no_content, route
from localspot.validation import whole_number

COOKIE = "localspot_oauth"
_pages = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html"]),
)
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}


def _html(
    ctx: Ctx, template: str, status: int = 200, nonce: str | None = None, **data: Any
) -> Response:
    response = HTMLResponse(
        _pages.get_template(template).render(**data), status_code=status, headers=_PAGE_HEADERS
    )
    if nonce is not None and ctx.request.cookies.get(COOKIE) != nonce:
        response.set_cookie(
            COOKIE,
            nonce,
            httponly=True,
            samesite="lax",
            secure=ctx.request.url.scheme == "https",
            path="/oauth",
        )
    return response


def _refused(ctx: Ctx, refusal: Refusal) -> Response:
    return _html(
        ctx, "oauth_refused.html", refusal.status, title=refusal.title, message=refusal.message
    )


def _pinned_hub(ctx: Ctx) -> int | None:
    raw = ctx.path.get("hubId")
    if raw is None:
        return None
    hub_id = whole_number(raw)
    if hub_id is None:
        raise Refused(Refusal(400, "Unknown account", f"{raw} is not an account id."))
    return hub_id


def _action(ctx: Ctx) -> str:
    query = ctx.request.url.query
    return ctx.request.url.path + (f"?{query}" if query else "")


def _request_key(auth: AuthRequest) -> str:
    """Binds a consent token to the exact request the user saw."""
    return hashlib.sha256(auth.uri.encode()).hexdigest()[:32]


def authorize(ctx: Ctx) -> Response:
    """``/oauth/authorize`` and ``/oauth/{hubId}/authorize``: sign in, choose, consent."""
    try:
        auth = oauth_authorize.check_request(ctx.runtime, str(ctx.request.url), _pinned_hub(ctx))
    except Refused as refused:
        return _refused(ctx, refused.refusal)
    signer = FormSigner(ctx.runtime)
    nonce = ctx.request.cookies.get(COOKIE)
    if ctx.request.method == "GET":
        return _sign_in_page(ctx, auth, signer, nonce or new_nonce())
    try:
        return _step(ctx, auth, signer, nonce, dict(parse_qsl(ctx.body.decode("utf-8", "replace"))))
    except InvalidForm:
        return _refused(
            ctx,
            Refusal(
                403,
                "This page has expired",
                "The form was stale or did not come from this browser's session. "
                "Open the app's install link again.",
            ),
        )
    except Refused as refused:
        return _refused(ctx, refused.refusal)


def _sign_in_page(
    ctx: Ctx,
    auth: AuthRequest,
    signer: FormSigner,
    nonce: str,
    error: str | None = None,
    email: str | None = None,
) -> Response:
    return _html(
        ctx,
        "oauth_signin.html",
        401 if error else 200,
        nonce,
        app_name=auth.app_name,
        pinned_hub_id=auth.pinned_hub_id,
        action=_action(ctx),
        csrf_token=signer.dumps(nonce, s="signin", c=auth.client_id),
        error=error,
        email=email,
    )


def _step(
    ctx: Ctx, auth: AuthRequest, signer: FormSigner, nonce: str | None, form: dict[str, str]
) -> Response:
    token = form.get("csrf_token")
    step = form.get("step")
    if step == "signin":
        signer.loads(token, nonce, s="signin", c=auth.client_id)
        assert nonce is not None
        email = form.get("email", "")
        memberships = oauth_authorize.sign_in(ctx.runtime, auth, email, form.get("password", ""))
        if not memberships:
            return _sign_in_page(
                ctx, auth, signer, nonce, error="Wrong email or password.", email=email
            )
        if len(memberships) == 1:
            return _consent_page(ctx, auth, signer, nonce, memberships[0]["id"])
        return _html(
            ctx,
            "oauth_choose.html",
            nonce=nonce,
            app_name=auth.app_name,
            email=memberships[0]["email"],
            memberships=memberships,
            action=_action(ctx),
            csrf_token=signer.dumps(
                nonce, s="choose", c=auth.client_id, u=[m["id"] for m in memberships]
            ),
        )
    if step == "choose":
        data = signer.loads(token, nonce, s="choose", c=auth.client_id)
        assert nonce is not None
        chosen = whole_number(form.get("user_id", ""))
        if chosen is None or chosen not in data["u"]:
            raise InvalidForm()
        return _consent_page(ctx, auth, signer, nonce, chosen)
    if step == "consent":
        data = signer.loads(token, nonce, s="consent", c=auth.client_id, r=_request_key(auth))
        if form.get("decision") == "approve":
            location = oauth_authorize.approve(ctx.runtime, auth, int(data["u"]))
        else:
            location = oauth_authorize.deny(auth)
        return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})
    raise InvalidForm()


def _consent_page(
    ctx: Ctx, auth: AuthRequest, signer: FormSigner, nonce: str, user_id: int
) -> Response:
    consent = oauth_authorize.consent(ctx.runtime, auth, user_id)
    scopes = _scope_rows(consent)
    return _html(
        ctx,
        "oauth_consent.html",
        nonce=nonce,
        app_name=auth.app_name,
        consent=consent,
        scopes=scopes,
        has_sensitive=any(s["level"] for s in scopes),
        action=_action(ctx),
        csrf_token=signer.dumps(
            nonce, s="consent", c=auth.client_id, u=user_id, r=_request_key(auth)
        ),
    )


def _scope_rows(consent: Consent) -> list[dict[str, Any]]:
    before = sc.canonical_set(consent.previously_granted or [])
    rows = []
    for name in consent.granted:
        level = None
        if sc.is_sensitive_scope(name):
            level = "highly_sensitive" if ".highly_sensitive" in name else "sensitive"
        rows.append(
            {
                "name": name,
                "level": level,
                "optional": name in consent.optional_granted,
                "new": consent.previously_granted is not None and sc.canonical(name) not in before,
            }
        )
    return rows


# Tokens -----------------------------------------------------------------------------------------


def token(ctx: Ctx) -> Response:
    """``POST /oauth/v1/token`` (form-encoded): authorization_code and refresh_token grants."""
    content_type = ctx.request.headers.get("content-type", "")
    status, body = oauth_server.token_response(
        ctx.runtime, ctx.body.decode("utf-8", "replace"), {"Content-Type": content_type}
    )
    if status != 200:
        body["correlationId"] = ctx.request.scope["state"]["correlation_id"]
    return JSON(body, status_code=status, headers={"Cache-Control": "no-store"})


def access_token_info(ctx: Ctx) -> Response:
    return JSON(oauth_server.access_token_info(ctx.runtime, ctx.path["token"]))


def refresh_token_info(ctx: Ctx) -> Response:
    return JSON(oauth_server.refresh_token_info(ctx.runtime, ctx.path["token"]))


def revoke_refresh_token(ctx: Ctx) -> Response:
    oauth_server.revoke_refresh_token(ctx.runtime, ctx.path["token"])
    return no_content()


# TODO(oauth): the date-versioned /oauth/2026-03/token, /token/introspect and /token/revoke are
# not served yet; neither is a throttle on failed sign-ins.
def routes() -> list[BaseRoute]:
    return [
        route("/oauth/authorize", ["GET", "POST"], authorize),
        route("/oauth/{hubId}/authorize", ["GET", "POST"], authorize),
        route("/oauth/v1/token", ["POST"], token),
        route("/oauth/v1/access-tokens/{token}", ["GET"], access_token_info),
        route("/oauth/v1/refresh-tokens/{token}", ["GET"], refresh_token_info),
        route("/oauth/v1/refresh-tokens/{token}", ["DELETE"], revoke_refresh_token),
    ]

"""The whole install flow in headless Chromium (Debian's package, driven by Playwright).

Register an app asking for contact sensitive read, get it approved, open the authorization URL,
sign in as a Super admin of an Enterprise account, approve, exchange the code with HubSpot's
v3 client, call the API with the token and refresh it. Screenshots of the pages land in the
test's tmp dir.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import hubspot
import pytest

from localspot.scopes import all_scopes
from localspot.testing import LocalSpotServer
from tests.oauth_helpers import (
    PASSWORD,
    REDIRECT_URI,
    SENSITIVE_READ,
    authorize_url,
    new_public_app,
    new_user,
)

CHROMIUM = os.environ.get("LOCALSPOT_CHROMIUM", "/usr/bin/chromium")
READ = "crm.objects.contacts.read"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def require_chromium(chromium: str, ci: bool) -> None:
    """Skip without Chromium on a developer's machine; under CI, where scripts/test installs
    Debian's package, its absence is a failure rather than a silently skipped test."""
    if Path(chromium).exists():
        return
    reason = f"no Chromium at {chromium} (Debian: apt-get install chromium; scripts/test does it)"
    if ci:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.mark.parametrize("ci", [True, False])
def test_missing_chromium_fails_under_ci_and_skips_otherwise(tmp_path: Path, ci: bool) -> None:
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match="no Chromium at"):
        require_chromium(str(tmp_path / "no-chromium"), ci=ci)


@pytest.fixture(scope="module")
def browser():
    require_chromium(CHROMIUM, ci=os.environ.get("CI") == "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield launched
        launched.close()


def _capture_callback(page) -> list[str]:
    """The app's redirect URI is not a real site: answer it in the browser and note the URL."""
    seen: list[str] = []

    def fulfil(route) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<h1>Connected</h1>")

    page.route(lambda url: url.startswith(REDIRECT_URI), fulfil)
    return seen


def test_install_in_chromium(server: LocalSpotServer, browser, tmp_path: Path) -> None:
    app = new_public_app(server, [READ, SENSITIVE_READ], approve=False)
    server.control("POST", f"/public-apps/{app.id}/scope-reviews/{SENSITIVE_READ}/approve")
    hub_id, email = new_user(server)

    page = browser.new_page(viewport={"width": 900, "height": 820})
    callbacks = _capture_callback(page)
    page.goto(authorize_url(server, app, [READ, SENSITIVE_READ], state="browser-state"))
    assert "Sign in to connect Passport Checker" in page.inner_text("h1")
    page.screenshot(path=str(tmp_path / "oauth-sign-in.png"), full_page=True)
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")

    page.wait_for_selector("#approve")
    scopes = page.inner_text("#scopes")
    assert SENSITIVE_READ in scopes
    assert "Sensitive data" in page.inner_text(f'li[data-scope="{SENSITIVE_READ}"]')
    assert "Sensitive data" not in page.inner_text(f'li[data-scope="{READ}"]')
    shot = tmp_path / "oauth-consent.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    if os.environ.get("LOCALSPOT_UPDATE_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, SCREENSHOTS / "oauth-consent.png")

    with page.expect_request(lambda r: r.url.startswith(REDIRECT_URI)) as callback:
        page.click("#approve")
    page.wait_for_selector("text=Connected")
    assert callbacks == [callback.value.url]
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback.value.url).query).items()}
    assert params["state"] == "browser-state"
    page.close()

    oauth = hubspot.HubSpot(host=server.url).oauth
    tokens = oauth.tokens_api.create(
        grant_type="authorization_code",
        code=params["code"],
        redirect_uri=REDIRECT_URI,
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    assert tokens.expires_in == 1800
    info = oauth.access_tokens_api.get(tokens.access_token)
    assert info.hub_id == hub_id
    assert SENSITIVE_READ in info.scopes

    owner = server.new_app(all_scopes(), hub_id=hub_id)
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {owner.token}"}
    ) as full:
        assert (
            full.post(
                "/crm/v3/properties/contacts",
                json={
                    "name": "passport_number",
                    "label": "Passport Number",
                    "type": "string",
                    "fieldType": "text",
                    "groupName": "contactinformation",
                    "dataSensitivity": "sensitive",
                },
            ).status_code
            == 201
        )
        contact = full.post(
            "/crm/v3/objects/contacts",
            json={"properties": {"email": "traveller@example.org", "passport_number": "PX-77"}},
        ).json()
    auth = {"Authorization": f"Bearer {tokens.access_token}"}
    read = httpx.get(
        f"{server.url}/crm/v3/objects/contacts/{contact['id']}",
        params={"properties": "passport_number"},
        headers=auth,
    )
    assert read.status_code == 200
    assert read.json()["properties"]["passport_number"] == "PX-77"

    refreshed = oauth.tokens_api.create(
        grant_type="refresh_token",
        refresh_token=tokens.refresh_token,
        client_id=app.client_id,
        client_secret=app.client_secret,
    )
    assert refreshed.access_token != tokens.access_token
    auth = {"Authorization": f"Bearer {refreshed.access_token}"}
    assert httpx.get(f"{server.url}/crm/v3/properties/contacts", headers=auth).status_code == 200
    read = httpx.get(
        f"{server.url}/crm/v3/objects/contacts/{contact['id']}",
        params={"properties": "passport_number"},
        headers=auth,
    )
    assert read.status_code == 200, read.text
    assert read.json()["properties"]["passport_number"] == "PX-77"


def test_refusal_page_in_chromium(server: LocalSpotServer, browser, tmp_path: Path) -> None:
    app = new_public_app(server, [READ, SENSITIVE_READ])
    _, email = new_user(server, role="admin")
    page = browser.new_page()
    page.goto(authorize_url(server, app, [READ, SENSITIVE_READ]))
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#refusal-title")
    assert "Only a Super admin" in page.inner_text("#refusal-title")
    page.screenshot(path=str(tmp_path / "oauth-refused.png"), full_page=True)
    page.close()

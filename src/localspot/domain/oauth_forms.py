"""Signed form tokens for the consent page: CSRF protection and the state between its steps.

Each browser gets a random nonce in a cookie; every form carries a token signed with a
server-wide key (kept in the store, so all processes agree) that binds the nonce and, after
sign-in, the user. A form posted from another site cannot carry a token for the victim's nonce,
and a token cannot be stretched past its age on the server clock.
"""

from __future__ import annotations

import secrets
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from localspot.clock import Clock
from localspot.runtime import Runtime
from localspot.store.schema import server_state

_KEY = "oauth_form_key"
MAX_AGE_SECONDS = 15 * 60


class InvalidForm(Exception):
    """The form token is missing, forged, stale or for another browser."""


def server_key(rt: Runtime, name: str = _KEY) -> str:
    """A random server-wide key kept in the store under ``name``, made on first use."""
    with rt.store.read() as conn:
        key = conn.scalar(select(server_state.c.value).where(server_state.c.key == name))
    if key is not None:
        return str(key)
    try:
        with rt.store.write() as conn:
            existing = conn.scalar(select(server_state.c.value).where(server_state.c.key == name))
            if existing is not None:
                return str(existing)
            key = secrets.token_urlsafe(32)
            conn.execute(insert(server_state).values(key=name, value=key))
            return key
    except IntegrityError:
        # Another process made it first; theirs is the key.
        return server_key(rt, name)


def _clock_signer(clock: Clock) -> type[TimestampSigner]:
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.time())

    return ClockSigner


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


class FormSigner:
    def __init__(self, rt: Runtime) -> None:
        self._serializer = URLSafeTimedSerializer(
            server_key(rt), salt="localspot-oauth-form", signer=_clock_signer(rt.clock)
        )

    def dumps(self, nonce: str, **data: Any) -> str:
        return str(self._serializer.dumps({**data, "n": nonce}))

    def loads(self, token: str | None, nonce: str | None, **expected: Any) -> dict[str, Any]:
        """The token's data, if it is ours, fresh, for this nonce and has ``expected`` in it."""
        if not token or not nonce:
            raise InvalidForm()
        try:
            data = self._serializer.loads(token, max_age=MAX_AGE_SECONDS)
        except BadSignature:
            raise InvalidForm() from None
        if not isinstance(data, dict) or not secrets.compare_digest(str(data.get("n")), nonce):
            raise InvalidForm()
        if any(data.get(k) != v for k, v in expected.items()):
            raise InvalidForm()
        return data

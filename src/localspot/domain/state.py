"""Deployment-wide settings kept in ``server_state`` (one row per key)."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from localspot.store.schema import server_state


def get(conn: Connection, key: str) -> str | None:
    return conn.scalar(select(server_state.c.value).where(server_state.c.key == key))


def put(conn: Connection, key: str, value: str) -> None:
    done = conn.execute(update(server_state).where(server_state.c.key == key).values(value=value))
    if done.rowcount == 0:
        conn.execute(insert(server_state).values(key=key, value=value))

"""The engine over SQLite (embedded default) or PostgreSQL, and its transactions."""

from __future__ import annotations

import logging
import select
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, exc, make_url

from localspot.store.changes import Changes
from localspot.store.checkpoints import Checkpointer
from localspot.store.memo import Memo

T = TypeVar("T")
log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")
# JSON columns (property options, scopes) through orjson: the stdlib decoder was a tenth of the
# time of listing 500 property definitions.
_JSON_CODEC: dict[str, Any] = {
    "json_serializer": lambda value: orjson.dumps(value).decode(),
    "json_deserializer": orjson.loads,
}


class WouldWait(BaseException):  # noqa: N818 - a signal, not an error
    """The store was asked to read or write inside ``Store.without_waiting``. A BaseException,
    so that no ``except Exception`` on the way up mistakes it for a failure."""


_WAITING_REFUSED: ContextVar[bool] = ContextVar("localspot_waiting_refused", default=False)


class _Attempt:
    """A request tried on the event loop: how long it may hold the loop, and what waits on
    its outcome. Wall time, not CPU: the loop is held either way, and this machine's thread CPU
    clock is a system call, which showed as a tenth of a cheap read's time."""

    # SQLite calls the progress handler every this many virtual machine instructions: a few
    # tens of microseconds of work, so that a check costs about 1% of a query.
    STEPS = 2000

    def __init__(self, seconds: float) -> None:
        self.until = time.perf_counter() + seconds
        self.exceeded = False
        self.kept: list[Callable[[], None]] = []

    def overdue(self) -> bool:
        if not self.exceeded and time.perf_counter() > self.until:
            self.exceeded = True
        return self.exceeded


# The generation a ``shared_reads`` block has not read yet.
_UNREAD = object()

_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("localspot_attempt", default=None)


class Store:
    """Owns the engine. Domain code asks it for a read or a write transaction."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._checkpoints: Checkpointer | None = None
        if self.is_sqlite:
            path = make_url(url).database
            if path and path != ":memory:":
                self._checkpoints = Checkpointer(path)
            self.engine = _sqlite_engine(url, own_checkpoints=self._checkpoints is not None)
        else:
            self.engine = _postgresql_engine(url)
        # SQLite has one writer at a time; queueing writers here avoids busy retries inside one
        # process. Other processes are covered by BEGIN IMMEDIATE and the busy timeout.
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._local = threading.local()
        self._memo = Memo()
        self._watcher: Any = None
        self._watcher_lock = threading.Lock()
        self._changes = None if self.is_sqlite else Changes(_listener_connect(self.engine))

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.connect() as conn:
            if self.is_sqlite:
                # A migration that rebuilds a table drops the old one, and with foreign keys
                # on that DROP would cascade into every table that references it. The pragma
                # only takes effect outside a transaction, so it goes to the driver first.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            try:
                with conn.begin():
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
                    if self.is_sqlite:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                        if broken:
                            raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
            finally:
                if self.is_sqlite:
                    conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        if self._checkpoints is not None:
            self._checkpoints.committed()

    @contextmanager
    def shared_reads(self) -> Iterator[None]:
        """Within this block, reads on this thread share one read transaction.

        A request authenticates and then reads: one connection checkout, BEGIN and COMMIT
        instead of two. A write ends the shared transaction first, so that reads after it
        see what it wrote; reads inside a write do not share.

        ``remembered`` reads the generation once in the block (until a write): the token's
        caller and the definitions a request then looks up are as of one moment, its start.
        """
        local = self._local
        local.sharing, local.shared, local.pinned = True, None, _UNREAD
        try:
            yield
        finally:
            local.sharing = False
            self._end_shared(commit=True)

    def _end_shared(self, commit: bool) -> None:
        local = self._local
        shared, local.shared = getattr(local, "shared", None), None
        if shared is None:
            return
        conn, transaction = shared
        try:
            if commit:
                transaction.commit()
            else:
                transaction.rollback()
        finally:
            conn.close()

    @property
    def remembers(self) -> bool:
        """Whether ``remembered`` can answer without a transaction (see ``generation``): on
        both stores, whenever the generation is known."""
        return True

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """Within this block a read or write raises ``WouldWait`` before touching the database,
        so that code on an event loop can try what the store remembers and go to a thread for
        the rest."""
        token = _WAITING_REFUSED.set(True)
        try:
            yield
        finally:
            _WAITING_REFUSED.reset(token)

    @property
    def reads_briefly(self) -> bool:
        """Whether ``briefly`` may read: SQLite answers an indexed read in microseconds, with
        no network to wait on, so a short read costs the event loop less than a thread hop."""
        return self.is_sqlite

    @contextmanager
    def briefly(self, seconds: float) -> Iterator[None]:
        """Within this block reads run for ``seconds`` from its start; then, or at the first
        write, ``WouldWait`` is raised (whatever the code in between made of the interrupted
        query), so that a request tried on the event loop moves to a thread once it proves
        long. Work passed to ``when_kept`` runs only if the block ends without ``WouldWait``:
        the request will run again and redo it.
        """
        attempt = _Attempt(seconds)
        token = _ATTEMPT.set(attempt)
        try:
            yield
        except WouldWait:
            raise
        except BaseException:
            if attempt.exceeded:
                raise WouldWait from None
            _run_kept(attempt)  # an error answer stands as well as any other
            raise
        finally:
            _ATTEMPT.reset(token)
        if attempt.exceeded:
            raise WouldWait
        _run_kept(attempt)

    @contextmanager
    def read(self, snapshot: bool = False) -> Iterator[Connection]:
        """A read transaction; ``snapshot`` makes every statement in it see the same data
        (SQLite's read transactions always do; PostgreSQL needs REPEATABLE READ, so a snapshot
        read never joins a shared one).

        Other reads on PostgreSQL run in autocommit: at READ COMMITTED each statement sees
        its own snapshot anyway, so BEGIN and COMMIT would buy nothing but two round trips.
        """
        if _WAITING_REFUSED.get():
            raise WouldWait
        attempt = _ATTEMPT.get()
        # On the event loop nothing may wait: not for CPU, not for a pooled connection.
        if attempt is not None and (attempt.overdue() or _pool_is_dry(self.engine)):
            raise WouldWait
        local = self._local
        sharing = getattr(local, "sharing", False) and not getattr(local, "writing", 0)
        if sharing and not snapshot:
            if local.shared is None:
                conn = self._read_connection()
                _bound(conn, attempt)
                local.shared = (conn, conn.begin())
            try:
                yield local.shared[0]
            except BaseException:
                # A failed statement can spoil the transaction (PostgreSQL); start afresh.
                self._end_shared(commit=False)
                raise
            return
        with self._read_connection(snapshot) as conn:
            _bound(conn, attempt)
            with conn.begin():
                yield conn

    def _read_connection(self, snapshot: bool = False) -> Connection:
        conn = self.engine.connect()
        conn.info["write"] = False
        if not self.is_sqlite:
            conn.execution_options(isolation_level="REPEATABLE READ" if snapshot else "AUTOCOMMIT")
        return conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        if _WAITING_REFUSED.get() or _ATTEMPT.get() is not None:
            raise WouldWait
        local = self._local
        self._end_shared(commit=True)
        local.writing = getattr(local, "writing", 0) + 1
        try:
            if self._write_lock is None:
                assert self._changes is not None
                # TODO(store): every write of ours spends what this process remembers, like
                # SQLite's data version does, though most touch no table the triggers watch;
                # telling them apart would cost the write a round trip or a parse of its SQL.
                with self.engine.connect() as conn:
                    conn.info["write"] = True
                    yield from _committed(conn, self._changes.bump)
                return
            with self._write_lock, self.engine.connect() as conn:
                conn.info["write"] = True
                yield from _committed(conn, None)
            if self._checkpoints is not None:
                self._checkpoints.committed()
        finally:
            local.writing -= 1
            local.pinned = _UNREAD  # what it wrote is a new generation to this request too

    def generation(self) -> int | None:
        """A number that changes whenever a commit that a remembered value could depend on is
        made, by any connection of any process; None while the store cannot tell.

        One connection that never writes asks SQLite: its data version moves with every commit
        made through any other connection, ours included. PostgreSQL's commits are heard as
        notifications (``changes``): another process's reach us within the notification delay.
        """
        if self._changes is not None:
            return self._changes.generation()
        with self._watcher_lock:
            if self._watcher is None:
                self._watcher = self.engine.raw_connection()
                # Never wait on a lock here: a busy database means "cannot tell", not a stall.
                self._watcher.driver_connection.execute("PRAGMA busy_timeout=0")
            try:
                return int(
                    self._watcher.driver_connection.execute("PRAGMA data_version").fetchone()[0]
                )
            except sqlite3.OperationalError:
                return None

    def remembered(self, key: Any, load: Callable[[Connection], T]) -> T:
        """``load(conn)`` in a read transaction, or its value from an earlier call when nothing
        has committed since (see ``memo``). ``key`` names everything the value depends on."""
        generation = None if getattr(self._local, "writing", 0) else self._pinned_generation()
        if generation is None:
            with self.read() as conn:
                return load(conn)

        def fresh() -> T:
            # Not the request's shared read: its snapshot may predate the generation.
            with self.read(snapshot=True) as conn:
                return load(conn)

        return self._memo.get(key, generation, fresh)

    def _pinned_generation(self) -> int | None:
        local = self._local
        if not getattr(local, "sharing", False):
            return self.generation()
        if local.pinned is _UNREAD:
            local.pinned = self.generation()
        return local.pinned  # type: ignore[no-any-return]

    def remembered_in(self, conn: Connection, key: Any, load: Callable[[Connection], T]) -> T:
        """``remembered``, for code handed a connection: inside a write transaction the value
        must be the one that transaction sees, so it is loaded there."""
        if conn.info.get("write", True):
            return load(conn)
        return self.remembered(key, load)

    def dispose(self) -> None:
        if self._changes is not None:
            self._changes.close()
        if self._checkpoints is not None:
            self._checkpoints.close()
        with self._watcher_lock:
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None
        self.engine.dispose()


def leave_loop() -> None:
    """Declares that what follows may take long (Python work the allowance cannot interrupt):
    inside ``Store.briefly`` the request moves to a worker thread now; elsewhere, nothing."""
    attempt = _ATTEMPT.get()
    if attempt is not None:
        attempt.exceeded = True
        raise WouldWait


def when_kept(work: Callable[[], None]) -> None:
    """``work()`` now, or, inside ``Store.briefly``, once the attempt's answer stands."""
    attempt = _ATTEMPT.get()
    if attempt is None:
        work()
    else:
        attempt.kept.append(work)


def _bound(conn: Connection, attempt: _Attempt | None) -> None:
    """Interrupts ``conn``'s statements once ``attempt`` has spent its CPU (SQLite only), and
    frees the pooled connection of the handler when it goes back to the pool."""
    if attempt is None or conn.dialect.name != "sqlite":
        return
    driver = conn.connection.driver_connection
    driver.set_progress_handler(attempt.overdue, _Attempt.STEPS)  # type: ignore[union-attr]
    conn.info["bounded"] = True


def _run_kept(attempt: _Attempt) -> None:
    for work in attempt.kept:
        work()


_AFTER_COMMIT = "after_commit"


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Calls ``callback`` once the write transaction of ``conn`` has committed, and not at all
    if it rolls back: a signal sent from inside would reach a reader before the data does.
    A callback registered several times in one transaction is called once."""
    callbacks = conn.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


_BEFORE_COMMIT = "before_commit"
W = TypeVar("W", bound=Callable[[Connection], None])


def before_commit(conn: Connection, key: str, make: Callable[[], W]) -> W:
    """The work registered under ``key`` in the write transaction of ``conn``, made by
    ``make()`` on first use, which the transaction calls with ``conn`` as its last statements.

    For totals that several writes of a transaction add to: on PostgreSQL their rows are then
    locked once, at the very end, by a transaction that waits on nothing after them, so two
    writers cannot deadlock over them.
    """
    pending = conn.info.setdefault(_BEFORE_COMMIT, {})
    work = pending.get(key)
    if work is None:
        work = pending[key] = make()
    return work  # type: ignore[no-any-return]


def _committed(conn: Connection, ended: Callable[[], None] | None) -> Iterator[Connection]:
    """The write transaction; ``ended`` is called when it has committed or failed, before
    the caller goes on (a failed COMMIT may still have committed)."""
    # conn.info outlives the checkout (it belongs to the pooled connection): start clean.
    conn.info.pop(_AFTER_COMMIT, None)
    conn.info.pop(_BEFORE_COMMIT, None)
    try:
        with conn.begin():
            yield conn
            for work in conn.info.pop(_BEFORE_COMMIT, {}).values():
                work(conn)
    except BaseException:
        conn.info.pop(_AFTER_COMMIT, None)
        conn.info.pop(_BEFORE_COMMIT, None)
        raise
    finally:
        if ended is not None:
            ended()
    for callback in conn.info.pop(_AFTER_COMMIT, ()):
        try:
            callback()
        except Exception:  # noqa: BLE001 - the write is committed; its request must not fail
            log.exception("after-commit callback failed")


# Pooled connections and overflow on SQLite: file handles, cheap to hold.
_SQLITE_POOL = (20, 10)


def _pool_is_dry(engine: Engine) -> bool:
    """Whether a checkout could wait for another thread to give a connection back."""
    return engine.pool.checkedout() >= sum(_SQLITE_POOL)  # type: ignore[attr-defined]


def _postgresql_engine(url: str) -> Engine:
    # No pool_pre_ping: it costs every checkout a round trip. A pooled connection that the
    # server closed (a restart, an idle timeout, pg_terminate_backend) has the server's goodbye
    # or its end of stream waiting on the socket; a poll that costs no round trip sees it, and
    # SQLAlchemy replaces the connection (DisconnectionError). A connection that dies in use
    # fails its request, and SQLAlchemy then recycles every connection pooled before it.
    engine = create_engine(url, pool_size=20, max_overflow=10, **_JSON_CODEC)

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_conn.closed or dbapi_conn.broken or _readable(dbapi_conn.pgconn.socket):
            raise exc.DisconnectionError("the server closed this pooled connection")

    return engine


def _readable(fd: int) -> bool:
    """Whether anything waits to be read on an idle connection's socket: nothing should."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _listener_connect(engine: Engine) -> Callable[[], Any]:
    """Opens a connection like the engine's, outside its pool, in autocommit (for LISTEN)."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)

    def connect() -> Any:
        import psycopg  # the PostgreSQL driver; not loaded for SQLite stores

        return psycopg.connect(*cargs, **{"connect_timeout": 5, **cparams, "autocommit": True})

    return connect


def _sqlite_engine(url: str, own_checkpoints: bool) -> Engine:
    engine = create_engine(
        url, pool_size=_SQLITE_POOL[0], max_overflow=_SQLITE_POOL[1], **_JSON_CODEC
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so pysqlite must not.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged commit survives a crash of the machine, not only of the process.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if own_checkpoints:
            cursor.execute("PRAGMA wal_autocheckpoint=0")  # store/checkpoints.py does them
        cursor.close()

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        if record.info.pop("bounded", False):
            dbapi_conn.set_progress_handler(None, 0)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

    return engine

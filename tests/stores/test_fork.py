"""A SQL store used before a fork: the child opens its own connections (gunicorn --preload)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from hookinbox.events import EventRecord

SESSION_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}


def rec(i: str) -> EventRecord:
    return EventRecord(endpoint="ep", id=i, type="t", body=b"{}", headers={}, received_at=1_000.0)


def session_id(store) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(SESSION_ID[store.engine.dialect.name])).scalar_one())


@pytest.mark.parametrize("store_url", ["postgresql", "mariadb"], indirect=True)
def test_forked_child_never_shares_the_parents_connection(make_store) -> None:  # type: ignore[no-untyped-def]
    """After a fork the child's store talks to the server on its own session; both processes keep recording."""
    store = make_store()
    assert store.record(rec("before-fork"))
    parent_session = session_id(store)  # the pooled connection the child would inherit
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read)
            os.write(write, str(session_id(store)).encode())
            code = 0 if store.record(rec("in-child")) else 2
        finally:
            os._exit(code)
    os.close(write)
    child_session = int(os.read(read, 64))
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child_session != parent_session
    assert session_id(store) == parent_session  # the parent's pool was left alone
    assert store.record(rec("after-fork"))
    assert {r.id for r in store.list(limit=10)} == {"before-fork", "in-child", "after-fork"}

"""PostgreSQL restarted under traffic, with real processes: gunicorn on production settings (its
connections kept across requests, CONN_MAX_AGE with health checks) against a PostgreSQL cluster
of the test's own, restarted and then stopped for a while as threads keep uploading.

Guarantees checked:
- Every request gets an HTTP answer: the upload, or 503 with the Upload API's error shape while the
  database is away; never a crash page, a traceback or a dropped connection.
- The server reconnects by itself: after a restart, and once the database is back, uploads succeed;
  after a restart while idle not even the first request fails (CONN_HEALTH_CHECKS).
- Every accepted upload has its File row and its bytes; a refused one left neither.
"""

import psycopg
import pytest

from tests.faults.processes import Burst, Gunicorn, PostgresCluster, bootstrap, server_env, stored_blobs
from tests.helpers import wait_until

UNAVAILABLE = "Service temporarily unavailable; try again later."
PHASE = 10  # answered requests per phase
WORKERS = 2  # gunicorn's, each keeping its database connection across requests


@pytest.fixture
def cluster():
    """A PostgreSQL cluster of this test's own: the shared one on 5432 is never restarted."""
    postgres = PostgresCluster()
    try:
        postgres.init()
        with psycopg.connect(postgres.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE filedock")
        yield postgres
    finally:
        postgres.destroy()


def test_postgres_restarted_under_upload_traffic(cluster, redis_server, tmp_path):
    env = server_env(cluster.url("filedock"), redis_server.url, tmp_path)
    keys = bootstrap(env)

    def every_worker_connected() -> bool:
        return cluster.connections("filedock") >= WORKERS

    with Gunicorn(env, tmp_path / "gunicorn.log", workers=WORKERS) as server:
        burst = Burst(server.base, keys["public_key"], threads=3).start()
        # Each phase lasts until PHASE requests sent in it have their answer, however slow the machine.
        assert wait_until(lambda: every_worker_connected() and burst.answered_since(0) >= PHASE, 60), server.log()
        cluster.restart()  # every connection the workers keep open is cut
        restarted_at = burst.now()
        assert wait_until(lambda: burst.answered_since(restarted_at) >= PHASE, 60), server.log()
        stopping_at = burst.now()
        cluster.stop()
        down_at = burst.now()
        assert wait_until(lambda: burst.answered_since(down_at) >= PHASE, 60), server.log()
        cluster.start()
        up_at = burst.now()
        assert wait_until(lambda: burst.answered_since(up_at) >= PHASE, 60), server.log()
        answers = burst.stop()
        cluster.restart()  # while idle: each worker's kept connection is dead when the next request comes
        quiet = Burst(server.base, keys["public_key"], threads=2).start()
        # Both workers have connected again: each has served a request since the restart.
        assert wait_until(lambda: every_worker_connected() and quiet.answered_since(0) >= PHASE, 60), server.log()
        after_idle_restart = quiet.stop()
        log = server.log()

    unanswered = [a for a in answers if a.status is None]
    assert not unanswered, ([a.error for a in unanswered[:3]], log)
    refused = [a for a in answers if a.status != 200]
    assert all(a.status == 503 and a.body == UNAVAILABLE for a in refused), (
        [(a.status, a.body[:300]) for a in refused],
        log,
    )
    assert any(down_at <= a.sent and a.at < up_at for a in refused), "the outage must be seen by some request"
    # Sent once the restarted server accepts connections: answered without an error.
    after_restart = [a for a in answers if restarted_at <= a.sent and a.at < stopping_at]
    assert len(after_restart) >= PHASE and all(a.status == 200 for a in after_restart), log
    after_start = [a for a in answers if a.sent >= up_at]
    assert len(after_start) >= PHASE and all(a.status == 200 for a in after_start), log

    # CONN_HEALTH_CHECKS: a dead kept connection is found and replaced before the request uses it.
    assert after_idle_restart and all(a.status == 200 for a in after_idle_restart), log

    accepted = {a.file_id: a.content for a in [*answers, *after_idle_restart] if a.status == 200}
    with psycopg.connect(cluster.url("filedock")) as conn:
        rows = dict(conn.execute("SELECT uuid::text, storage_key FROM files_file").fetchall())
    assert set(rows) == set(accepted)
    assert stored_blobs(tmp_path / "media") == {rows[file_id]: content for file_id, content in accepted.items()}

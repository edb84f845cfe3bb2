"""Helpers shared by test modules (fixtures live in tests/conftest.py)."""

import threading
import time
import traceback


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.02) -> bool:
    """Polls `predicate` until it is true (True) or `timeout` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def lock_waiters() -> int:
    """How many other sessions of this test database wait for a row or index lock: how a staged
    race knows its other parties have reached the point it holds them at."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction it would not change
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def blocked_on_a_lock() -> bool:
    return lock_waiters() > 0


class Crew:
    """Threads started together at a barrier; each closes its own database connection, and any
    exception (a deadlock, an IntegrityError) is kept for the test to fail on. `run` starts and
    joins them; `start` and `join` let the test act (release a lock) while they are running."""

    def __init__(self):
        self.jobs, self.errors, self.threads = [], [], []

    def add(self, target, count: int = 1) -> None:
        self.jobs += [target] * count

    def start(self) -> None:
        barrier = threading.Barrier(len(self.jobs))

        def wrapped(target):
            try:
                barrier.wait()
                target()
            except BaseException:
                self.errors.append(traceback.format_exc())
            finally:
                connection.close()

        from django.db import connection

        self.threads = [threading.Thread(target=wrapped, args=(job,), daemon=True) for job in self.jobs]
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float = 50) -> None:
        for thread in self.threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in self.threads), "a thread is still running: a lock wait?"
        assert not self.errors, "\n".join(self.errors)

    def run(self, timeout: float = 50) -> None:
        self.start()
        self.join(timeout)

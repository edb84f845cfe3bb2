"""The one Redis client for buffers that spare the database a write per request (traffic counts,
API log lines), and the key names they use. None when no Redis is configured (the embedded run):
each user then has its own fallback.

A request's fire-and-forget commands (its relay wake-up, usage counts, API log line) go in one
round trip when it ends (`send_later`, `sending_later`), not one round trip each."""

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import redis
from django.conf import settings
from django.db import connection

log = logging.getLogger(__name__)


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def redis_client() -> redis.Redis | None:
    return _client_for(settings.REDIS_URL) if settings.REDIS_URL else None


def redis_key(kind: str, rest: str) -> str:
    # Named after the database, so two installations (or test runs) sharing a Redis never mix.
    return f"filedock:{connection.settings_dict['NAME']}:{kind}{rest}"


def batches_to_apply(client: redis.Redis, *, pending: str, taken: str) -> Iterator[str]:
    """The keys a periodic flush applies, then deletes: first those a crashed run left under
    `taken`, then each key under `pending` renamed to a batch of its own (`taken` + the pending
    key's suffix + ":" + a new id). RENAME is atomic: a key another run took first is skipped, and
    what arrives after the rename goes to a new pending key, never into a batch being applied."""
    for key in client.scan_iter(match=redis_key(taken, "*"), count=1000):
        yield key.decode()
    for key in client.scan_iter(match=redis_key(pending, "*"), count=1000):
        suffix = key.decode().removeprefix(redis_key(pending, ""))
        batch = redis_key(taken, f"{suffix}:{uuid.uuid4().hex}" if suffix else uuid.uuid4().hex)
        try:
            client.rename(key, batch)
        except redis.ResponseError:  # taken by another run meanwhile
            continue
        yield batch


# (queue, done, failed): `queue` adds commands to a pipeline; `done` gets their results, in order;
# `failed` is called instead when the round trip fails.
Later = tuple[Callable[[redis.client.Pipeline], object], Callable[[list], object] | None, Callable[[], object] | None]
_later: ContextVar[list[Later] | None] = ContextVar("redis_later", default=None)


def send_later(
    queue: Callable[[redis.client.Pipeline], object],
    *,
    done: Callable[[list], object] | None = None,
    failed: Callable[[], object] | None = None,
) -> None:
    """Sends the commands `queue` adds to a pipeline of redis_client()'s: with the current request's
    others when it ends (`sending_later`), at once elsewhere (a task, the shell). Callers that
    need an answer before going on send their own commands. Call only with a redis_client()."""
    batch = _later.get()
    if batch is None:
        _send([(queue, done, failed)])
    else:
        batch.append((queue, done, failed))


@contextmanager
def sending_later() -> Iterator[None]:
    """Within it, send_later waits, and everything sent so is sent in one round trip at its end
    (config.middleware wraps each request in it)."""
    batch: list[Later] = []
    token = _later.set(batch)
    try:
        yield
    finally:
        _later.reset(token)
        if batch:
            _send(batch)


def _send(batch: list[Later]) -> None:
    """One pipeline for the batch, then each sender's `done` with its own results (or `failed`).
    A callback that raises is logged: the request it follows has done its work already."""
    pipeline = redis_client().pipeline(transaction=False)
    sizes = []
    for queue, _, _ in batch:
        before = len(pipeline.command_stack)
        queue(pipeline)
        sizes.append(len(pipeline.command_stack) - before)
    try:
        results = pipeline.execute()
    except redis.RedisError as error:
        log.warning("redis unavailable for %s deferred commands: %s", sum(sizes), error)
        callbacks = [(failed, ()) for _, _, failed in batch]
    else:
        callbacks, start = [], 0
        for (_, done, _), size in zip(batch, sizes, strict=True):
            callbacks.append((done, (results[start : start + size],)))
            start += size
    for callback, args in callbacks:
        if callback is None:
            continue
        try:
            callback(*args)
        except Exception:
            log.exception("a deferred redis command's callback failed")

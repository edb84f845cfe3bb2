"""core.redisconn.send_later: a request's fire-and-forget Redis commands wait for its end and go
in one round trip; elsewhere they go at once."""

import uuid

import pytest

from core.redisconn import redis_client, send_later, sending_later


@pytest.fixture
def key():
    name, client = f"test-send-later:{uuid.uuid4().hex}", redis_client()
    yield name
    client.delete(name, f"{name}:other")


def test_outside_a_request_the_commands_go_at_once(key, redis_round_trips):
    answers = []
    send_later(lambda pipeline: pipeline.incr(key), done=answers.append)
    assert redis_client().get(key) == b"1" and answers == [[1]]
    assert redis_round_trips.count("execute") == 1


def test_within_a_request_they_wait_for_its_end_and_go_in_one_round_trip(key, redis_round_trips):
    answers = {"first": [], "second": []}
    with sending_later():
        send_later(lambda pipeline: (pipeline.incr(key), pipeline.incr(key)), done=answers["first"].append)
        send_later(lambda pipeline: pipeline.rpush(f"{key}:other", "x"), done=answers["second"].append)
        assert redis_round_trips == [] and answers == {"first": [], "second": []}
    assert redis_round_trips.count("execute") == 1
    # each sender hears its own commands' answers, in order
    assert answers == {"first": [[1, 2]], "second": [[1]]}
    assert redis_client().get(key) == b"2"


def test_a_failed_round_trip_calls_each_senders_fallback(settings, key):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    fallbacks, answers = [], []
    with sending_later():
        send_later(lambda pipeline: pipeline.incr(key), done=answers.append, failed=lambda: fallbacks.append("a"))
        send_later(lambda pipeline: pipeline.incr(key), failed=lambda: fallbacks.append("b"))
    assert fallbacks == ["a", "b"] and answers == []


def test_a_callback_that_raises_stops_neither_the_request_nor_the_other_callbacks(key):
    heard = []

    def broken(results):
        raise RuntimeError("a broken callback")

    with sending_later():
        send_later(lambda pipeline: pipeline.incr(key), done=broken)
        send_later(lambda pipeline: pipeline.incr(key), done=heard.append)
    assert heard == [[2]]


def test_a_request_sends_its_batch_before_its_answer_leaves(client, db, key):
    """The middleware: a view's deferred commands have reached Redis when the client has the answer."""
    from django.urls import path

    from core.redisconn import send_later as later

    def view(request):
        from django.http import HttpResponse

        later(lambda pipeline: pipeline.set(key, "sent"))
        assert redis_client().get(key) is None  # not yet: it waits for the request's end
        return HttpResponse("ok")

    urlpatterns = [path("later/", view)]
    from django.test import override_settings

    module = type("urls", (), {"urlpatterns": urlpatterns})
    with override_settings(ROOT_URLCONF=module):
        response = client.get("/later/")
    assert response.status_code == 200 and redis_client().get(key) == b"sent"

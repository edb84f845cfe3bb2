"""The embedded run's disk broker: a worker polling the folder never reads a message half-written."""

import threading

from kombu import Connection

from core.broker import Transport


def test_a_polling_worker_never_takes_a_message_being_written(tmp_path):
    # Every folder in tmp_path: kombu's control folder defaults to ./control, in the checkout. The
    # worker polls every 10 ms (make run's polls every 100 ms, kombu's every second): with kombu's
    # own in-place writes it takes a half-written file within a few dozen messages (at most 37 in
    # twenty runs), where polling once a second needed up to 1,900 of them.
    options = {
        "data_folder_in": str(tmp_path),
        "data_folder_out": str(tmp_path),
        "control_folder": str(tmp_path),
        "polling_interval": 0.01,
    }
    sent, received, errors = 500, [], []
    payload = {"body": "x" * 200_000}  # long enough to be caught mid-write by a poll

    def consume():
        with Connection(transport=Transport, transport_options=options) as conn:
            queue = conn.SimpleQueue("jobs")
            while len(received) < sent and not errors:
                try:
                    message = queue.get(timeout=5)
                except queue.Empty:
                    errors.append("a message never arrived")
                    return
                except Exception as exc:  # what kombu's own transport raises: JSONDecodeError
                    errors.append(repr(exc))
                    return
                received.append(len(message.payload["body"]))
                message.ack()

    worker = threading.Thread(target=consume)
    worker.start()
    with Connection(transport=Transport, transport_options=options) as conn:
        queue = conn.SimpleQueue("jobs")
        for _ in range(sent):
            queue.put(payload)
    worker.join(120)
    assert not errors, errors[0]
    assert received == [200_000] * sent

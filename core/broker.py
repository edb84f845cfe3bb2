"""The embedded run's broker on local disk (kombu's filesystem transport), without its race.

kombu writes a message file in place: a worker polling the folder can take the file while it is
still empty and stop on a JSONDecodeError ("Unrecoverable error"; celery/kombu#1551), which ends
`manage.py serve`. Here a message is written under a name no worker takes (`….msg.part`) and
renamed into place whole, an atomic step.

kombu creates an exchange's table file (`<exchange>.exchange`, the queues bound to it) the same
way: empty first, locked and written after. A publisher or a second binder that opens it in
between reads "" and stops on the same JSONDecodeError. Here the first table is written under a
name of its own and linked into place whole; a binder that finds a table already there adds to it
under kombu's lock, which every reader takes.

kombu also shares one record of bindings between all the connections of a process, and marks a
binding made before it writes the table: a second thread then skips its own bind and publishes
against no table, and its messages are dropped. Binding is one step per process here.
"""

import os
import threading
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

_binding = threading.Lock()


class Channel(filesystem.Channel):
    def queue_bind(self, *args, **kwargs):
        with _binding:
            super().queue_bind(*args, **kwargs)

    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"  # the reader takes only names ending in `.{queue}.msg`
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        table = self._exchange_file(exchange)
        if not table.exists():
            self.control_folder.mkdir(exist_ok=True)
            partial = table.with_name(f"{table.name}.{uuid.uuid4()}.part")
            partial.write_bytes(str_to_bytes(dumps([(routing_key or "", pattern or "", queue or "")])))
            try:
                os.link(partial, table)  # fails if another binder's table got there first
                return
            except FileExistsError:
                pass
            finally:
                partial.unlink()
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    Channel = Channel

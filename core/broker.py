"""The embedded run's broker on local disk (kombu's filesystem transport), without its race.

kombu writes a message file in place: a worker polling the folder can take the file while it is
still empty and stop on a JSONDecodeError ("Unrecoverable error"; celery/kombu#1551), which ends
`manage.py serve`. Here a message is written under a name no worker takes (`….msg.part`) and
renamed into place whole, an atomic step.
"""

import os
import uuid
from time import monotonic

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
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


class Transport(filesystem.Transport):
    Channel = Channel

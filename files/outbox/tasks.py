"""The relay's task: woken after each commit that wrote events, and run by beat as a sweep."""

from core.jobs import job
from files.outbox.relay import RELAY_TASK, outbox_relay


@job(RELAY_TASK)
def relay_outbox() -> int:
    relayed = total = outbox_relay()
    while relayed:
        relayed = outbox_relay()
        total += relayed
    return total

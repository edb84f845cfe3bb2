"""The relay's task (woken after each commit that wrote events, and run by beat as a sweep) and the
prune of relayed events past their retention."""

from core.jobs import job
from files.outbox.relay import (
    PRUNE_BATCH,
    PRUNE_BATCHES_PER_RUN,
    PRUNE_TASK,
    RELAY_TASK,
    outbox_prune,
    outbox_relay,
    wake_taken,
)


@job(RELAY_TASK)
def relay_outbox() -> int:
    wake_taken()  # before the claim: what commits after this wakes another run
    relayed = total = outbox_relay()
    while relayed:
        relayed = outbox_relay()
        total += relayed
    return total


@job(PRUNE_TASK)
def prune_outbox(batch: int = PRUNE_BATCH, batches: int = PRUNE_BATCHES_PER_RUN) -> int:
    """Every minute: deletes relayed events past their retention, at most `batches` transactions of
    `batch` events per run (the next run takes the rest). Safe to run twice at once: each batch
    skips the rows another holds."""
    total = 0
    for _ in range(batches):
        deleted = outbox_prune(limit=batch)
        total += deleted
        if deleted < batch:
            break
    return total

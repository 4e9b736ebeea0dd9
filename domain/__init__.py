"""Pure domain model of the ALPR ledger: aggregates, their events, commands and value objects.

Nothing here performs I/O or imports another package of this project; the only framework
used is ``eventsourcing.domain``. Decisions (validation, normalisation) are pure functions
that tests call directly.
"""

"""``cloudwall watch``: alert on a firewall change within an interval of the API call.

- ``state``: what survives a restart (per-scope checkpoints, event ids already handled).
- ``events``: the overlapping read window and the deduplication of audit events.
- ``working``: the latest snapshot with re-read objects put in place of the old ones.
- ``judge``: drift against the baseline for the touched accounts, and which items are new.
- ``alerts``: the JSON lines on stdout and the webhook posts.
- ``loop``: the order of steps in one interval, the full scan, stopping.
"""

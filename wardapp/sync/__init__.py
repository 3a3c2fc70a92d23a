"""Sync between a ward and the city hub (sync-design.md §5): the wire format both sides share
(:mod:`.protocol`), the ward's client and runner (:mod:`.client`), and the USB package
(:mod:`.package`)."""

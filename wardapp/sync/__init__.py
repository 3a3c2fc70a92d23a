"""Sync between a ward and the city hub (docs/guarantees.md): the wire format both sides share
(:mod:`.protocol`), the ward's client and runner (:mod:`.client`), and the USB package
(:mod:`.package`)."""

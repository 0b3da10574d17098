"""What the people app tells the modules above it, without importing them.

`measure_ended` is sent inside the transaction that ends a control measure (released,
converted, superseded, or a proposal cancelled), with `measure`, `actor` and `successor` (the
measure that replaced it, when one did). Modules that hold something under the measure (a
quarantine room) connect in their AppConfig.ready and settle it in the same transaction, so
the measure and what hangs on it never disagree.
"""

from django.dispatch import Signal

measure_ended = Signal()

"""Turning lab results of tubes into what follows for people: recheck tasks for every person
of a positive or invalid pool, case proposals for positive single tubes, and test results
recorded on the control measures of people under control.

Called inside the transaction that stores the results (see lab.py), with the ids of the tubes
whose result was written or changed by that upload.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ResolveSummary:
    rechecks_created: int = 0
    cases_proposed: int = 0
    measure_tests_recorded: int = 0
    recheck_tubes_resolved: int = 0
    details: dict[str, int] = field(default_factory=dict)


def pools_resolve(*, tube_ids: list[int]) -> ResolveSummary:
    """Resolve the given (just resulted) tubes. Idempotent: resolving twice creates nothing new.

    Placeholder until the recheck part lands: the lab part may already call it.
    """
    return ResolveSummary()

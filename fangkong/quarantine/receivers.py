"""What quarantine does when another app's signal arrives (connected in apps.ready)."""

from __future__ import annotations

from typing import Any

from fangkong.quarantine.services.stays import stays_follow_measure


def measure_ended(sender: Any, **kwargs: Any) -> None:
    """people's `measure_ended`: settle the stay held under the measure."""
    stays_follow_measure(
        measure=kwargs["measure"], actor=kwargs.get("actor"), successor=kwargs.get("successor")
    )

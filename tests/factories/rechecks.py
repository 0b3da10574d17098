"""Set-up for recheck tests: resulted pools of scanned persons, built in bulk.

The lab upload path belongs to another part: here results are written straight onto the tubes
and then `pools_resolve` is called, as the lab ingest does inside its transaction.
"""

from __future__ import annotations

import itertools

from django.utils import timezone

from fangkong.core.models import Region
from fangkong.masstesting.models import (
    SamplingPoint,
    Scan,
    ScanBatch,
    Tube,
    TubeKind,
    TubeStatus,
)
from fangkong.people.models import Person
from tests.factories.tracing import bulk_persons

_seq = itertools.count(1)


def resulted_pools(
    point: SamplingPoint,
    grid: Region,
    *,
    tubes: int,
    size: int = 10,
    result: str = "negative",
    persons: list[Person] | None = None,
) -> list[Tube]:
    """`tubes` closed pools of `size` persons living in `grid`, each tube resulted `result`."""
    now = timezone.now()
    people = persons or bulk_persons(grid, tubes * size, seed=next(_seq))
    batch = ScanBatch.objects.create(point=point, idempotency_key=f"k{next(_seq)}", body_hash="")
    built = []
    for _ in range(tubes):
        built.append(
            Tube(
                campaign=point.campaign,
                barcode=f"T{next(_seq):06d}",
                point=point,
                capacity=size,
                members=size,
                status=TubeStatus.RESULTED,
                opened_at=now,
                closed_at=now,
                kind=TubeKind.POOL,
                lab=None,
                result=result,
                resulted_at=now,
            )
        )
    made = Tube.objects.bulk_create(built)
    scans = [
        Scan(
            campaign=point.campaign,
            tube=made[i // size],
            person=p,
            token=f"tok{p.pk}",
            point=point,
            batch=batch,
            scanned_at=now,
        )
        for i, p in enumerate(people[: tubes * size])
    ]
    Scan.objects.bulk_create(scans)
    return made


def result_tube(tube: Tube, result: str) -> Tube:
    tube.result, tube.resulted_at, tube.status = result, timezone.now(), TubeStatus.RESULTED
    tube.save(update_fields=["result", "resulted_at", "status"])
    return tube

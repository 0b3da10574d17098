"""A site's room grid as the site board draws it: buildings, floors from the top down, and on
each floor its corridors with side A above the aisle and side B below, rooms at the same
position facing each other. Rooms with no corridor or side are listed after the corridors.

Pure layout over rows already read (two queries in `selectors.site_board`), so a 2,000-room
site draws without a query per room.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from fangkong.quarantine.models import Room, RoomState, Stay


@dataclass
class Occupant:
    stay_id: int
    name: str  # masked
    cohort: str
    state: str


@dataclass
class Cell:
    room: Room
    occupants: list[Occupant] = field(default_factory=list)

    @property
    def cohort(self) -> str:
        return self.occupants[0].cohort if self.occupants else ""


@dataclass
class Corridor:
    name: str
    side_a: list[Cell | None]
    side_b: list[Cell | None]


@dataclass
class Floor:
    building: str
    floor: int
    corridors: list[Corridor]
    loose: list[Cell]
    counts: dict[str, int]


@dataclass
class Board:
    floors: list[Floor]
    counts: dict[str, int]
    total: int
    cohorts: list[str]

    @property
    def free(self) -> int:
        return self.counts.get(RoomState.AVAILABLE, 0)

    @property
    def occupancy_pct(self) -> int:
        usable = self.total - self.counts.get(RoomState.OUT_OF_SERVICE, 0)
        return round(100 * self.counts.get(RoomState.OCCUPIED, 0) / usable) if usable else 0


def natural(text: str) -> tuple[tuple[int, str], ...]:
    """Sort key that puts building 2 before building 10."""
    return tuple((int(p), "") if p.isdigit() else (0, p) for p in re.split(r"(\d+)", text) if p)


def _corridor(name: str, cells: list[Cell]) -> Corridor:
    positions = sorted({c.room.position or 0 for c in cells})
    by_key = {(c.room.side, c.room.position or 0): c for c in cells}
    return Corridor(
        name=name,
        side_a=[by_key.get(("A", p)) for p in positions],
        side_b=[by_key.get(("B", p)) for p in positions],
    )


def _floor(building: str, floor: int, cells: list[Cell]) -> Floor:
    lined: dict[str, list[Cell]] = defaultdict(list)
    loose: list[Cell] = []
    for cell in cells:
        if cell.room.side and cell.room.corridor:
            lined[cell.room.corridor].append(cell)
        else:
            loose.append(cell)
    counts = dict.fromkeys(RoomState.values, 0)
    for cell in cells:
        counts[cell.room.state] += 1
    return Floor(
        building=building,
        floor=floor,
        corridors=[_corridor(name, lined[name]) for name in sorted(lined, key=natural)],
        loose=sorted(loose, key=lambda c: natural(c.room.number)),
        counts=counts,
    )


def board(rooms: Iterable[Room], stays: Iterable[tuple[Stay, str]]) -> Board:
    """`stays`: each open stay with its occupant's masked name."""
    occupants: dict[int, list[Occupant]] = defaultdict(list)
    cohorts: list[str] = []
    for stay, name in stays:
        occupants[stay.room_id].append(Occupant(stay.pk, name, stay.cohort, stay.state))
        if stay.cohort not in cohorts:
            cohorts.append(stay.cohort)
    by_floor: dict[tuple[str, int], list[Cell]] = defaultdict(list)
    counts = dict.fromkeys(RoomState.values, 0)
    total = 0
    for room in rooms:
        by_floor[(room.building, room.floor)].append(Cell(room, occupants.get(room.pk, [])))
        counts[room.state] += 1
        total += 1
    order = sorted(by_floor, key=lambda k: (natural(k[0]), -k[1]))
    return Board(
        floors=[_floor(b, f, by_floor[(b, f)]) for b, f in order],
        counts=counts,
        total=total,
        cohorts=sorted(cohorts),
    )

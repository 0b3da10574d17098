"""Which free room a person of an arrival cohort gets: pure functions, no database.

Cohorts are kept apart because a quarantine site must not become a source of infection:
cross-corridor transmission during simultaneous door openings is a documented failure. So a
room is ranked by what its corridor and the room facing it already hold:

0. a corridor holding only this cohort (keeps a cohort together, leaves empty corridors free);
1. an empty corridor;
2. a corridor shared with another cohort, the facing room free or of this cohort;
3. facing a room of another cohort.

The best rank wins, then the smallest room that fits (family rooms stay free for families),
then building, floor and number. Ranks 2 and 3 are allowed only because no better room is
left; the allocation then says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

SAME_COHORT, EMPTY_CORRIDOR, SHARED_CORRIDOR, FACING_OTHER = 0, 1, 2, 3


@dataclass(frozen=True)
class RoomSlot:
    """What the allocator needs of a room."""

    id: int
    building: str
    floor: int
    number: str
    corridor: str
    side: str
    position: int | None
    capacity: int

    @property
    def corridor_key(self) -> tuple[str, int, str]:
        return (self.building, self.floor, self.corridor)

    @property
    def facing_key(self) -> tuple[str, int, str, str, int] | None:
        if not self.side or self.position is None or not self.corridor:
            return None
        other = "B" if self.side == "A" else "A"
        return (self.building, self.floor, self.corridor, other, self.position)

    @property
    def own_key(self) -> tuple[str, int, str, str, int] | None:
        if not self.side or self.position is None or not self.corridor:
            return None
        return (self.building, self.floor, self.corridor, self.side, self.position)


@dataclass(frozen=True)
class Choice:
    room: RoomSlot
    rank: int
    others: tuple[str, ...]  # the other cohorts on its corridor or facing it


class Occupancy:
    """The cohorts already on each corridor and in each room of one site."""

    def __init__(self, occupied: Iterable[tuple[RoomSlot, str]]) -> None:
        self.corridors: dict[tuple[str, int, str], set[str]] = defaultdict(set)
        self.rooms: dict[tuple[str, int, str, str, int], set[str]] = defaultdict(set)
        for room, cohort in occupied:
            self.add(room, cohort)

    def add(self, room: RoomSlot, cohort: str) -> None:
        self.corridors[room.corridor_key].add(cohort)
        if room.own_key is not None:
            self.rooms[room.own_key].add(cohort)

    def rank(self, room: RoomSlot, cohort: str) -> Choice:
        facing = self.rooms.get(room.facing_key, set()) if room.facing_key else set()
        if facing - {cohort}:
            return Choice(room, FACING_OTHER, tuple(sorted(facing - {cohort})))
        on_corridor = self.corridors.get(room.corridor_key, set())
        if not on_corridor:
            return Choice(room, EMPTY_CORRIDOR, ())
        if on_corridor == {cohort}:
            return Choice(room, SAME_COHORT, ())
        return Choice(room, SHARED_CORRIDOR, tuple(sorted(on_corridor - {cohort})))


class FreeRooms:
    """The free rooms of one site, grouped by corridor, for choosing many rooms in a row.

    Within a corridor every room has the corridor's rank unless it faces another cohort
    (rank 3), so the best room of a corridor is its first fitting room, in (capacity,
    building, floor, number) order, that does not face another cohort, else its first
    fitting room: a choice looks at a room or two per corridor, not at every free room."""

    def __init__(self, free: Iterable[RoomSlot]) -> None:
        self.by_corridor: dict[tuple[str, int, str], list[RoomSlot]] = defaultdict(list)
        for room in free:
            self.by_corridor[room.corridor_key].append(room)
        for rooms in self.by_corridor.values():
            rooms.sort(key=_order)

    def take(self, room: RoomSlot) -> None:
        """The room is no longer free."""
        self.by_corridor[room.corridor_key].remove(room)

    def best(self, occupancy: Occupancy, cohort: str, size: int) -> Choice | None:
        best: tuple[tuple[int, int, str, int, str], Choice] | None = None
        for rooms in self.by_corridor.values():
            choice = _corridor_best(rooms, occupancy, cohort, size)
            if choice is None:
                continue
            key = (choice.rank, *_order(choice.room))
            if best is None or key < best[0]:
                best = (key, choice)
        return best[1] if best else None


def _order(room: RoomSlot) -> tuple[int, str, int, str]:
    # smallest room that fits first: family rooms stay free for families
    return (room.capacity, room.building, room.floor, room.number)


def _corridor_best(
    rooms: list[RoomSlot], occupancy: Occupancy, cohort: str, size: int
) -> Choice | None:
    fallback = None
    for room in rooms:
        if room.capacity < size:
            continue
        choice = occupancy.rank(room, cohort)
        if choice.rank < FACING_OTHER:
            return choice
        fallback = fallback or choice
    return fallback


def choose(
    free: Iterable[RoomSlot], occupancy: Occupancy, cohort: str, *, size: int = 1
) -> Choice | None:
    """The best free room for `size` persons of `cohort`, or None when none is big enough."""
    return FreeRooms(free).best(occupancy, cohort, size)

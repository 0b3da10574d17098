"""Meeting minutes → proposed directives (会议议定事项), for the office to edit and confirm.

No state and no database: the caller hands the text, the unit dictionary and the clock. The
minutes are cut into items (lines, 。 and ；, with list markers such as "一、" "（二）" "3."
dropped); an item that names a unit — by name or alias, longest first, or collectively as
"各镇" / "各部门" — becomes a proposal. Lead and supporting units are told apart by the
sentence patterns meetings use: "由A牵头，B、C配合", "A负责，B配合", and "A要…" (units
before the first verb of duty lead; "A要和B对接" makes B a partner; other units named after
it are only mentioned). A unit named in an official's title ("县公安局局长") is a person, and a
sentence that only tells who attended, reported or spoke is the account of the meeting, not
a decision. A deadline is read when the text gives one: "X月X日(下午16:00)前", "N日内" /
"N个工作日内", "N小时内", "本周内", "本月底", "今天" / "明天"; "限期" or "立即" without a
date asks the office for one.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.utils import timezone

CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}  # fmt: skip
NUM = r"(\d{1,3}|[零一二两三四五六七八九十]{1,3})"
MARKER = re.compile(
    r"^\s*(?:[（(]?[一二三四五六七八九十\d]{1,3}[)）、.．]|[一二三四五六七八九十]+是)\s*"
)
SPLIT = re.compile(r"[\n。；;]+")
DUTY_VERBS = re.compile(r"要|负责|务必|必须|须|应当|应|抓紧|立即|牵头|全面|严格|切实|做好|落实")
LEAD_SUPPORT = (
    re.compile(r"由(?P<lead>.+?)牵头[，,、]?(?P<support>.*?)(?:配合|协助|参与)"),
    re.compile(r"^(?P<lead>[^，,。]+?)负责[^，,]*[，,](?P<support>[^，,]+?)(?:配合|协助|参与)"),
)
COLLECTIVE = {
    "town": ("各乡镇（街道）", "各镇（街道）", "各乡镇街道", "各乡镇", "各镇街", "各街道", "各镇"),
    "department": ("各成员单位", "各有关部门", "各部门", "各单位"),
}
# "县公安局局长禹军": a unit's name in an official's title is a person, not a duty
TITLE = re.compile(r"(?:常务)?副?(?:局长|部长|主任|书记|政委|队长|院长|所长|站长|镇长|乡长)")
# who attended, reported or spoke: the account of the meeting, not what it decided
ACCOUNT = re.compile(r"出席|列席|参加会议|汇报|表态发言|主持")
DECISIVE = re.compile(r"要|负责|务必|必须|须|牵头")
# "A要和B对接": B works with the lead
PARTNER = re.compile(r"^(?:和|与|会同|协同|联合|同)$")


@dataclass(frozen=True)
class UnitName:
    pk: int
    names: tuple[str, ...]  # the unit's name first, then its aliases
    kind: str


@dataclass
class Proposal:
    text: str
    duty: str
    lead: list[int] = field(default_factory=list)
    support: list[int] = field(default_factory=list)
    deadline: dt.datetime | None = None
    deadline_text: str = ""
    needs_deadline: bool = False


def cn_number(raw: str) -> int:
    """'3' → 3, '三' → 3, '十五' → 15, '二十' → 20, '三十一' → 31."""
    if raw.isdigit():
        return int(raw)
    if "十" in raw:
        tens, _, ones = raw.partition("十")
        return CN_DIGITS.get(tens, 1) * 10 + (CN_DIGITS.get(ones, 0) if ones else 0)
    value = 0
    for ch in raw:
        value = value * 10 + CN_DIGITS[ch]
    return value


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59)))


def _add_workdays(day: dt.date, n: int) -> dt.date:
    while n > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


DATED = re.compile(
    rf"(?:(\d{{4}})年)?{NUM}月{NUM}[日号]"
    r"(?:(上午|中午|下午|晚上)?(\d{1,2})(?:[:：](\d{2})|[时点](?:(\d{1,2})分)?))?"
    r"(?:前|之前|以前)?"
)


def _clock_time(found: re.Match[str]) -> dt.time | None:
    if found.group(5) is None:
        return None
    hour = int(found.group(5))
    minute = int(found.group(6) or found.group(7) or 0)
    if found.group(4) in ("下午", "晚上") and hour < 12:
        hour += 12
    if hour > 24 or minute > 59:
        return None
    return dt.time(23, 59) if hour == 24 else dt.time(hour, minute)


def _month_day(sentence: str, today: dt.date) -> tuple[dt.datetime, str] | None:
    found = DATED.search(sentence)
    if not found:
        return None
    month, day = cn_number(found.group(2)), cn_number(found.group(3))
    year = int(found.group(1)) if found.group(1) else today.year
    try:
        date = dt.date(year, month, day)
        if not found.group(1) and date < today:
            date = dt.date(year + 1, month, day)
    except ValueError:
        return None
    at = _clock_time(found)
    when = timezone.make_aware(dt.datetime.combine(date, at)) if at else _end_of(date)
    return when, found.group(0)


def deadline_in(sentence: str, now: dt.datetime) -> tuple[dt.datetime | None, str, bool]:
    """(deadline, the words it was read from, whether the office must still give one)."""
    local = timezone.localtime(now)
    today = local.date()
    dated = _month_day(sentence, today)
    if dated:
        return dated[0], dated[1], False
    relative = (
        (rf"{NUM}个?工作日内", lambda n: _end_of(_add_workdays(today, n))),
        (rf"{NUM}(?:个)?(?:日|天)内", lambda n: _end_of(today + dt.timedelta(days=n))),
        (rf"{NUM}(?:个)?小时内", lambda n: now + dt.timedelta(hours=n)),
    )
    for pattern, after in relative:
        found = re.search(pattern, sentence)
        if found:
            return after(cn_number(found.group(1))), found.group(0), False
    named = (
        ("本周内", _end_of(today + dt.timedelta(days=6 - today.weekday()))),
        ("本周", _end_of(today + dt.timedelta(days=6 - today.weekday()))),
        ("本月底", _end_of(today.replace(day=calendar.monthrange(today.year, today.month)[1]))),
        ("本月内", _end_of(today.replace(day=calendar.monthrange(today.year, today.month)[1]))),
        ("当天", _end_of(today)),
        ("今天", _end_of(today)),
        ("今日", _end_of(today)),
        ("明天", _end_of(today + dt.timedelta(days=1))),
    )
    for words, when in named:
        if words in sentence:
            return when, words, False
    for words in ("限期", "立即", "尽快", "抓紧"):
        if words in sentence:
            return None, words, True
    return None, "", False


def _mentions(text: str, units: Sequence[UnitName]) -> list[tuple[int, int]]:
    """(position, unit pk) of every unit named in `text`, longest names first, no overlaps."""
    names = sorted(
        ((name, u.pk) for u in units for name in u.names if name),
        key=lambda item: -len(item[0]),
    )
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, int]] = []
    for name, pk in names:
        for match in re.finditer(re.escape(name), text):
            span = (match.start(), match.end())
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            taken.append(span)
            if not TITLE.match(text, span[1]):
                found.append((span[0], pk))
    for kind, phrases in COLLECTIVE.items():
        for phrase in phrases:
            for match in re.finditer(re.escape(phrase), text):
                span = (match.start(), match.end())
                if any(span[0] < end and start < span[1] for start, end in taken):
                    continue
                taken.append(span)
                found.extend((span[0], u.pk) for u in units if u.kind == kind)
    return sorted(found)


def _unique(pks: Iterable[int], without: Iterable[int] = ()) -> list[int]:
    skip, out = set(without), []
    for pk in pks:
        if pk not in skip and pk not in out:
            out.append(pk)
    return out


def _parties(sentence: str, units: Sequence[UnitName]) -> tuple[list[int], list[int]]:
    for pattern in LEAD_SUPPORT:
        found = pattern.search(sentence)
        if found:
            lead = _unique(pk for _, pk in _mentions(found.group("lead"), units))
            support = _unique((pk for _, pk in _mentions(found.group("support"), units)), lead)
            if lead:
                return lead, support
    mentioned = _mentions(sentence, units)
    if not mentioned:
        return [], []
    # the first verb of duty after the first unit named: units before it lead
    verb = DUTY_VERBS.search(sentence, mentioned[0][0])
    if verb is None:
        return [], []
    lead = _unique(pk for pos, pk in mentioned if pos < verb.start())
    partners = [pk for pos, pk in mentioned if pos >= verb.start() and _partner(sentence, pos)]
    return lead, _unique(partners, lead)


def _partner(sentence: str, pos: int) -> bool:
    """Whether the unit named at `pos` is joined to the lead ("要和B对接", "会同B")."""
    before = sentence[max(0, pos - 2) : pos]
    return bool(PARTNER.match(before[-1:]) or PARTNER.match(before))


def items_of(text: str) -> list[str]:
    items = []
    for piece in SPLIT.split(text or ""):
        cleaned = MARKER.sub("", piece).strip(" \t，,：:")
        if cleaned:
            items.append(cleaned)
    return items


def propose(text: str, units: Sequence[UnitName], now: dt.datetime) -> list[Proposal]:
    """The directives the minutes give, in their order."""
    proposals = []
    for item in items_of(text):
        if ACCOUNT.search(item) and not DECISIVE.search(item):
            continue
        lead, support = _parties(item, units)
        if not lead:
            continue
        deadline, words, needs = deadline_in(item, now)
        proposals.append(
            Proposal(
                text=item,
                duty=item,
                lead=lead,
                support=support,
                deadline=deadline,
                deadline_text=words,
                needs_deadline=needs or deadline is None,
            )
        )
    return proposals

"""Import benchmark (issue 2): a 100,000-row person list into PostgreSQL.

In one run it generates the xlsx, measures a bare openpyxl read-only pass over it (the
baseline: nothing can import faster than it can read), then the full import (validation,
region resolution, de-duplication, encryption, bulk insert, error report) into a scratch
database that is created first and dropped at the end, so nothing else is touched.

    .venv/bin/python bench/import.py [--rows 100000] [--bad-share 0.01] [--profile]

FANGKONG_BENCH_DATABASE_URL names the server (default postgresql://postgres@127.0.0.1:5432/
postgres); the scratch database is fangkong_bench_import on it. Goal: import <= 60 s.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import platform
import pstats
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from scratch import scratch_create, scratch_drop, setup_django

SCRATCH_DB = "fangkong_bench_import"
GOAL_SECONDS = 60.0
PLACES = ("110101", "110102", "110105", "110108", "310101", "310104", "310110", "120101")
HEADER = ["序号", "姓名", "证件类型", "身份证号", "手机号", "现住址", "所属社区", "网格"]
HEADER += ["职业", "重点人群", "标签"]
# mobile prefixes phonenumbers knows as allocated, so only the deliberately bad rows fail
MOBILE_PREFIXES = ("130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152")
MOBILE_PREFIXES += ("155", "156", "158", "159", "176", "177", "180", "181", "186", "187", "189")
KEY_GROUPS = ("", "", "", "", "冷链从业人员", "医务人员", "快递外卖人员", "学校教职工")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
console = Console()
LOAD_BEFORE: list[float] = [0.0, 0.0, 0.0]
EXCEL_STYLE: list[bool] = [False]


def build_tree() -> tuple[Any, list[tuple[str, list[str]]]]:
    """City > 4 districts > 5 towns > 5 communities > 4 grids; a city-level importer."""
    from fangkong.core.models import Region, RegionLevel, Role, User

    city = Region.objects.create(code="990100", name="基准市", level=RegionLevel.CITY)
    communities: list[tuple[str, list[str]]] = []
    for d in range(1, 5):
        district = Region.objects.create(
            code=f"9901{d:02d}", name=f"第{d}区", level=RegionLevel.DISTRICT, parent=city
        )
        for t in range(1, 6):
            town = Region.objects.create(
                code=f"{district.code}{t:03d}",
                name=f"{district.name}第{t}街道",
                level=RegionLevel.TOWN,
                parent=district,
            )
            for c in range(1, 6):
                community = Region.objects.create(
                    code=f"{town.code}{c:03d}",
                    name=f"{town.name}第{c}社区",
                    level=RegionLevel.COMMUNITY,
                    parent=town,
                )
                grids = [f"第{g}网格" for g in range(1, 5)]
                for g, grid_name in enumerate(grids, start=1):
                    Region.objects.create(
                        code=f"{community.code}G{g:02d}",
                        name=grid_name,
                        level=RegionLevel.GRID,
                        parent=community,
                    )
                communities.append((community.name, grids))
    user = User.objects.create(username="bench_importer", role=Role.COMMAND_OFFICE, region=city)
    return user, communities


def resident_id(rng: random.Random, seen: set[str]) -> str:
    from stdnum.cn import ric

    while True:
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(29000))
        body = f"{rng.choice(PLACES)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        number = body + ric.calc_check_digit(body + "0")
        if number not in seen:
            seen.add(number)
            return number


def _spoil(row: list[Any], kind: int) -> None:
    if kind == 0:
        row[3] = row[3][:-1] + ("1" if row[3][-1] == "0" else "0")  # checksum
    elif kind == 1:
        row[4] = "1380013"  # phone too short
    elif kind == 2:
        row[7] = "第九网格"  # no such grid in that community
    else:
        row[1] = ""  # name missing


def generate(path: Path, rows: int, bad_share: float, communities: list[Any]) -> int:
    import openpyxl

    rng = random.Random(20261122)
    seen: set[str] = set()
    bad = 0
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("人员名单")
    ws.append(HEADER)
    for i in range(1, rows + 1):
        community, grids = rng.choice(communities)
        row: list[Any] = [
            i,
            rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN)),
            "居民身份证",
            resident_id(rng, seen),
            f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}",
            f"幸福路{rng.randrange(1, 300)}号{rng.randrange(1, 9)}单元{rng.randrange(101, 2000)}",
            community,
            rng.choice(grids),
            rng.choice(("", "教师", "司机", "职员", "个体")),
            rng.choice(KEY_GROUPS),
            rng.choice(("", "", "返乡", "返乡，重点")),
        ]
        if rng.random() < bad_share:
            _spoil(row, bad % 4)
            bad += 1
        ws.append(row)
    wb.save(path)
    return bad


def excel_style(path: Path, rows: int) -> None:
    """Rewrite openpyxl's output the way Excel and WPS save a workbook: a shared-string table
    and a declared sheet dimension, instead of inline strings and none."""
    strings: dict[str, int] = {}

    def share(m: re.Match[str]) -> str:
        return (
            f'<c r="{m.group(1)}" t="s"><v>{strings.setdefault(m.group(2), len(strings))}</v></c>'
        )

    inline = re.compile(r'<c r="([A-Z]+[0-9]+)" t="inlineStr"><is><t>(.*?)</t></is></c>', re.S)
    ns, kind = "http://schemas.openxmlformats.org", "application/vnd.openxmlformats-officedocument"
    source, target = zipfile.ZipFile(path), path.with_suffix(".tmp")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item).decode()
            if item.filename.startswith("xl/worksheets/sheet"):
                data = inline.sub(share, data).replace(
                    "<sheetViews>", f'<dimension ref="A1:K{rows + 1}"/><sheetViews>', 1
                )
            elif item.filename == "[Content_Types].xml":
                data = data.replace(
                    "</Types>",
                    '<Override PartName="/xl/sharedStrings.xml" '
                    f'ContentType="{kind}.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    "</Relationships>",
                    f'<Relationship Id="rIdSST" Type="{ns}/officeDocument/2006/relationships/'
                    'sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            out.writestr(item, data)
        items = "".join(f"<si><t>{text}</t></si>" for text in strings)
        out.writestr(
            "xl/sharedStrings.xml",
            f'<sst xmlns="{ns}/spreadsheetml/2006/main" uniqueCount="{len(strings)}">{items}</sst>',
        )
    target.replace(path)


def bare_pass(path: Path) -> tuple[int, float]:
    import openpyxl

    start = time.perf_counter()
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _row in wb.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    wb.close()
    return count - 1, time.perf_counter() - start


def _cpu_seconds() -> float:
    """CPU of this process and of its reaped children (the import's worker processes)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def full_import(path: Path, actor: Any, profile: bool) -> tuple[Any, float, float]:
    from fangkong.people.services.imports import import_job_create, import_job_run

    profiler = cProfile.Profile() if profile else None
    cpu = _cpu_seconds()
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    with path.open("rb") as handle:
        job = import_job_create(actor=actor, filename=path.name, content=handle, enqueue=False)
    job = import_job_run(job_id=job.pk)
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(40)
    return job, elapsed, cpu


def report(rows: int, bad: int, bare_s: float, job: Any, import_s: float, cpu_s: float) -> None:
    from fangkong.people.models import Person

    assert job.status == "done", job.message
    assert job.created_count + job.error_count == rows == job.processed_rows
    assert Person.objects.count() == job.created_count
    style = "Excel-style" if EXCEL_STYLE[0] else "openpyxl-written"
    table = Table(title=f"Person import, {rows:,} rows ({bad:,} bad), {style} xlsx, PostgreSQL")
    for col in ("measure", "seconds", "rows/s"):
        table.add_column(col, justify="right" if col != "measure" else "left")
    table.add_row("bare openpyxl read-only pass", f"{bare_s:.2f}", f"{rows / bare_s:,.0f}")
    table.add_row("full import (fangkong)", f"{import_s:.2f}", f"{rows / import_s:,.0f}")
    console.print(table)
    console.print(
        f"created {job.created_count:,}, rejected {job.error_count:,} rows "
        f"({job.row_errors.count():,} row errors)"
    )
    console.print(f"import / bare read time ratio: [bold]{import_s / bare_s:.2f}×[/bold]")
    verdict = "[green]meets[/green]" if import_s <= GOAL_SECONDS else "[red]misses[/red]"
    console.print(f"goal ≤ {GOAL_SECONDS:.0f} s: {verdict} ({import_s:.1f} s)")
    from fangkong.people.services.imports import PARALLEL_MIN_ROWS, _worker_count

    workers = _worker_count(rows) if rows >= PARALLEL_MIN_ROWS else 0
    console.print(
        f"import CPU {cpu_s:.1f} s over {workers or 'no'} worker processes; "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"load average before the run {LOAD_BEFORE[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad-share", type=float, default=0.01)
    parser.add_argument("--profile", action="store_true", help="cProfile the import")
    parser.add_argument(
        "--excel-style",
        action="store_true",
        help="shared strings and a declared dimension, as Excel/WPS save (default: openpyxl's "
        "inline strings, as openpyxl and POI's streaming writer produce)",
    )
    args = parser.parse_args()
    EXCEL_STYLE[0] = args.excel_style
    server = os.environ.get(
        "FANGKONG_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    workdir = Path(tempfile.mkdtemp(prefix="fangkong-bench-import-"))
    console.print(f"scratch database {SCRATCH_DB}, files in {workdir}")
    try:
        setup_django(scratch_create(server, SCRATCH_DB), workdir)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        actor, communities = build_tree()
        path = workdir / "名单-bench.xlsx"
        with console.status(f"generating {args.rows:,} rows"):
            t0 = time.perf_counter()
            bad = generate(path, args.rows, args.bad_share, communities)
            if args.excel_style:
                excel_style(path, args.rows)
        console.print(
            f"generated {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s"
        )
        LOAD_BEFORE[:] = list(os.getloadavg())
        rows, bare_s = bare_pass(path)
        job, import_s, cpu_s = full_import(path, actor, args.profile)
        report(rows, bad, bare_s, job, import_s, cpu_s)
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        scratch_drop(server, SCRATCH_DB)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

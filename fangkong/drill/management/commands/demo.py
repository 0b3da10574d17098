"""`fangkong demo`: migrate, seed the demo city once, create demo accounts, serve."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, cast

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fangkong.drill.citygen import DEFAULT_SEED, DEFAULT_SIZE
from fangkong.drill.names import CITY_NAME
from fangkong.drill.outbreak import OutbreakResult, outbreak_seed
from fangkong.drill.outbreak_masstesting import MassTestingSeed, masstesting_demo_seed
from fangkong.drill.services import (
    ACCOUNTS_FILE,
    CityConflict,
    DemoAccount,
    DemoAccountClash,
    SeedResult,
    city_seed,
    city_seeded,
    demo_accounts_ensure,
)
from fangkong.people.measures_models import MeasureState
from fangkong.serving.server import ServeOptions, default_workers, serve


def command_console(command: BaseCommand) -> Console:
    """A rich console on the command's stdout, so call_command(stdout=...) captures it."""
    command.stdout.ending = ""  # rich writes whole lines itself
    # markup off: paths and names are data, and a "[" in them must print as itself
    return Console(file=cast(IO[str], command.stdout), highlight=False, markup=False)


class Command(BaseCommand):
    help = "Seed the synthetic demo city once, create the demo accounts and serve the app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=_("address to listen on"))
        parser.add_argument("--port", type=int, default=8000, help=_("port to listen on"))
        parser.add_argument(
            "--data-dir",
            help=_("data directory (database, keys, demo accounts); default var/"),
        )
        parser.add_argument(
            "--size", type=int, default=DEFAULT_SIZE, help=_("number of residents to seed")
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=_("random seed of the city")
        )
        parser.add_argument(
            "--workers", type=int, default=default_workers(), help=_("web worker processes")
        )
        parser.add_argument(
            "--no-serve", action="store_true", help=_("prepare everything, then exit")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError(_("`fangkong demo` runs only in demo mode (FANGKONG_MODE=demo)"))
        _check_data_dir(options["data_dir"])
        if options["size"] < 1:
            raise CommandError(_("--size must be at least 1"))
        console = command_console(self)
        console.print(_("Data directory: %(dir)s") % {"dir": settings.DATA_DIR})
        with console.status(_("Applying database migrations…")):
            call_command("migrate", interactive=False, verbosity=0)
        result = _seed(console, size=options["size"], seed=options["seed"])
        if result.created:
            console.print(
                _(
                    "Seeded %(city)s: %(regions)d regions, %(inst)d institutions, "
                    "%(persons)d residents"
                )
                % {
                    "city": CITY_NAME,
                    "regions": result.regions,
                    "inst": result.institutions,
                    "persons": result.persons,
                }
            )
        else:
            console.print(
                _("The demo city is already seeded (%(persons)d residents); seeding skipped")
                % {"persons": result.persons}
            )
        with console.status(_("Preparing demo accounts…")):
            try:
                accounts = demo_accounts_ensure(data_dir=settings.DATA_DIR)
            except DemoAccountClash as exc:
                raise CommandError(str(exc)) from None
        print_accounts(console, accounts)
        with console.status(_("Seeding the demo outbreak…")):
            outbreak = outbreak_seed(seed=options["seed"])
        print_outbreak(console, outbreak)
        if outbreak.created or not outbreak.skipped:
            with console.status(_("Seeding the demo mass-testing campaign…")):
                testing = masstesting_demo_seed(seed=options["seed"])
            print_masstesting(console, testing)
        if options["no_serve"]:
            return
        url = f"http://{options['host']}:{options['port']}/"
        console.print(_("Serving fangkong at %(url)s (Ctrl+C stops)") % {"url": url}, style="bold")
        serve(ServeOptions(host=options["host"], port=options["port"], workers=options["workers"]))


def _check_data_dir(flag: str | None) -> None:
    """--data-dir is applied by fangkong.cli before settings load; here we only verify it."""
    if flag and Path(flag).expanduser().resolve() != settings.DATA_DIR:
        raise CommandError(
            _(
                "--data-dir must be given to the `fangkong` command (it is read before "
                "settings load); or set FANGKONG_DATA_DIR instead"
            )
        )


def _seed(console: Console, *, size: int, seed: int) -> SeedResult:
    if city_seeded():
        return city_seed(size=size, seed=seed)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(_("Seeding residents"), total=size)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            return city_seed(size=size, seed=seed, progress=report)
        except CityConflict as exc:
            raise CommandError(str(exc)) from None


def print_accounts(console: Console, accounts: list[DemoAccount]) -> None:
    table = Table(
        title=_("Demo accounts (also in %(path)s)") % {"path": settings.DATA_DIR / ACCOUNTS_FILE},
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    # passwords and usernames must survive a narrow terminal whole; the rest may wrap
    table.add_column(_("username"), no_wrap=True)
    table.add_column(_("password"), no_wrap=True)
    table.add_column(_("role"), no_wrap=True)
    # region code for region roles, institution name for institution roles
    table.add_column(_("jurisdiction"), overflow="fold")
    for a in accounts:
        table.add_row(a.username, a.password, a.role, a.region_code or a.institution or "")
    console.print(table)


def _joined(counts: dict[str, int]) -> str:
    return " · ".join(f"{label} {n}" for label, n in counts.items()) or "0"


def print_masstesting(console: Console, result: MassTestingSeed) -> None:
    c, k = result.campaign, result.key_groups
    if not c.created:
        console.print(_("The demo mass-testing campaign is already seeded; seeding skipped"))
        return
    console.print(
        _(
            "Seeded the demo mass-testing campaign in %(s).1f s: %(points)d sampling points, "
            "%(sampled)d of %(residents)d residents sampled, %(resulted)d tubes resulted; "
            "%(members)d key-group members under routine testing"
        )
        % {
            "s": c.seconds,
            "points": c.points,
            "sampled": c.sampled,
            "residents": c.residents,
            "resulted": c.counts.get("tubes_resulted", 0),
            "members": k.members,
        }
    )


def print_outbreak(console: Console, result: OutbreakResult) -> None:
    """What the demo outbreak holds, so staff know what to look for on the new screens."""
    if result.created:
        console.print(_("Seeded the demo outbreak in %(s).1f s") % {"s": result.seconds})
    elif result.skipped:
        console.print(_("The demo outbreak was not seeded: %(why)s") % {"why": result.skipped})
        return
    else:
        console.print(_("The demo outbreak is already seeded; seeding skipped"))
    s = result.summary
    table = Table(title=_("Demo outbreak"), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(_("what"), no_wrap=True)
    table.add_column(_("count"), overflow="fold")
    generations = {
        _("generation %(n)d") % {"n": g}: n for g, n in sorted(s.contacts_by_generation.items())
    }
    states = {str(MeasureState(k).label): n for k, n in sorted(s.measures_by_state.items())}
    overdue = {
        _("investigations"): s.overdue.get("investigations", 0),
        _("release"): s.overdue.get("release", 0),
        _("test"): s.overdue.get("test", 0),
    }
    towns = {name: counts["pending"] for name, counts in s.towns.items()}
    table.add_row(_("cases"), str(s.cases))
    table.add_row(_("contacts"), _joined(generations))
    table.add_row(_("measures"), _joined(states))
    table.add_row(_("overdue"), _joined(overdue))
    table.add_row(_("pending screenings"), f"{s.pending_screenings} ({_joined(towns)})")
    table.add_row(_("risk areas / zones in force"), f"{s.risk_areas} / {s.zones}")
    table.add_row(_("self-declaration tokens"), " ".join(s.declaration_tokens) or "-")
    console.print(table)

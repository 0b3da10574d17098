"""What every benchmark needs: a scratch PostgreSQL database and Django set up on it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def with_db(url: str, name: str) -> str:
    """The server URL pointing at database `name`."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def admin(server_url: str, sql: str) -> None:
    """One statement outside a transaction (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql)


def scratch_create(server_url: str, name: str) -> str:
    """A fresh, empty database `name` on the server; its URL."""
    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(server_url, f'CREATE DATABASE "{name}"')
    return with_db(server_url, name)


def scratch_drop(server_url: str, name: str) -> None:
    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(db_url: str, data_dir: Path) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ["FANGKONG_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

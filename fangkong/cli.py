"""The `fangkong` console script: Django's management commands with our settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Commands whose --data-dir must take effect before Django reads its settings.
DATA_DIR_COMMANDS = frozenset({"demo"})


def data_dir_flag(argv: list[str]) -> str | None:
    """The value of --data-dir DIR / --data-dir=DIR for a command that takes it."""
    if len(argv) < 2 or argv[1] not in DATA_DIR_COMMANDS:
        return None
    args = argv[2:]
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--data-dir="):
            return arg.partition("=")[2]
        if arg == "--data-dir" and i + 1 < len(args):
            return args[i + 1]
    return None


def main() -> None:
    argv = ["fangkong", *sys.argv[1:]]
    data_dir = data_dir_flag(argv)
    if data_dir:
        # config.settings reads FANGKONG_DATA_DIR at import time, so set it first;
        # the command later checks that settings.DATA_DIR matches the flag
        os.environ["FANGKONG_DATA_DIR"] = str(Path(data_dir).expanduser().resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()

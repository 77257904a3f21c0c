"""``manage.py hookinbox ...``: the ``hookinbox`` CLI on the Django-configured inbox."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hookinbox.django.conf import get_inbox


class Command(BaseCommand):
    help = "The hookinbox CLI (list, show, replay, stats, ...) on the inbox configured in settings.HOOKINBOX."

    def run_from_argv(self, argv: list[str]) -> None:
        # Hand everything after the command name to the CLI's own parser (Django's
        # --settings/--pythonpath were already applied by manage.py).
        args = [a for a in argv[2:] if not a.startswith(("--settings", "--pythonpath"))]
        code = run(args)
        if code:
            sys.exit(code)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("cli_args", nargs="*", help="arguments of the hookinbox CLI")

    def handle(self, *args: Any, **options: Any) -> None:  # call_command("hookinbox", "stats")
        code = run([*args, *options.get("cli_args", [])])
        if code:
            raise CommandError(f"hookinbox exited with status {code}", returncode=code)


def run(argv: list[str]) -> int:
    try:
        cli = importlib.import_module("hookinbox.cli")
    except ImportError as exc:
        raise CommandError("the hookinbox CLI is not available in this installation") from exc
    return int(cli.main(argv, inbox=get_inbox()))

#!/usr/bin/env python
import os
import sys

#: Commands that never touch the database: the embedded PostgreSQL is not started for them.
DATABASE_FREE_COMMANDS = {"solve_vrp"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(sys.argv) > 1 and sys.argv[1] in DATABASE_FREE_COMMANDS:
        os.environ["DISPATCH_DATABASE_FREE"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

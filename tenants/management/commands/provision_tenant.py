"""Create a tenant from the command line: schema, host, owner login and first API key."""

import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tenants.services.provisioning import tenant_provision


class Command(BaseCommand):
    help = "Provision a tenant (same service as the sign-up API). Prints its host and API key."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug", help="Host label: <slug>.<TENANT_BASE_DOMAIN>")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", required=True)
        parser.add_argument("--owner-name", default="")
        parser.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. GB")
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--locale", default="en")
        parser.add_argument(
            "--password-env",
            default="OWNER_PASSWORD",
            help="Read the owner's password from this environment variable (prompted if unset).",
        )

    def handle(self, *args, **options) -> None:
        password = os.environ.get(options["password_env"]) or getpass.getpass("Owner password: ")
        try:
            result = tenant_provision(
                name=options["name"],
                slug=options["slug"],
                owner_email=options["owner_email"],
                owner_password=password,
                owner_name=options["owner_name"],
                country=options["country"],
                time_zone=options["time_zone"],
                locale=options["locale"],
            )
        except ValidationError as exc:
            lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Provisioned {result.tenant.slug} in {result.seconds * 1000:.0f} ms\n"
                f"  host:    {result.domain.domain}\n"
                f"  owner:   {result.owner_email}\n"
                f"  API key: {result.api_key_secret}  (shown once)"
            )
        )

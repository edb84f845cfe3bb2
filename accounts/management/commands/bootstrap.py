import json
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.services import account_bootstrap
from core.bases import bases
from projects.services import secret_key_create


class Command(BaseCommand):
    help = "Creates (idempotently) a verified account with a project and prints its keys and base URLs as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--project", default=None, help="Project name (default: “Default project”).")

    def handle(self, *args, email, password, project, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        if not password:
            raise CommandError("The password must not be empty.")
        project_obj = account_bootstrap(email=email, password=password, project_name=project)
        _, secret = secret_key_create(project=project_obj, label="bootstrap")
        output = {
            "project": project_obj.name,
            "project_id": str(project_obj.pk),
            "public_key": project_obj.public_key,
            "secret_key": secret,
            **bases(),
        }
        self.stdout.write(json.dumps(output, indent=2))
        unset = [name for name in ("FILEDOCK_SITE_URL", "FILEDOCK_CDN_BASE") if name not in os.environ]
        if unset:
            # The URLs above are this process's settings; a server started elsewhere (serve --bind)
            # may listen on other addresses, which this command cannot see.
            self.stderr.write(
                f"Note: the base URLs assume the defaults ({output['cdn_base']} for the CDN); if the server "
                f"listens elsewhere, set {' and '.join(unset)} when running this command."
            )

"""Payment collection behind one small interface. No network calls to payment services.

`settings.BILLING_PAYMENT_PROVIDER` may name another class (dotted path) with the same method;
the built-in manual provider records nothing and waits for an admin to mark the invoice paid.
"""

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from billing.models import Invoice

DEFAULT_PROVIDER = "billing.providers.ManualProvider"


class PaymentProvider(Protocol):
    name: str

    def collect(self, invoice: Invoice) -> None:
        """Starts collecting an issued (open) invoice. Called once, after the issuing transaction commits.

        A provider that is paid later calls `billing.services.invoice_mark_paid(invoice=...)`.
        """


class ManualProvider:
    """Bank transfer or any payment outside the system: an admin uses "Mark paid" in admin."""

    name = "manual"

    def collect(self, invoice: Invoice) -> None:
        return None


def get_provider() -> PaymentProvider:
    return import_string(getattr(settings, "BILLING_PAYMENT_PROVIDER", DEFAULT_PROVIDER))()

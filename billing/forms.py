import re

from django import forms

from billing.models import MAX_ALERT_THRESHOLDS, MONTHLY_QUOTAS, STORAGE_QUOTAS, BillingDetails, Plan

COUNTRY = re.compile(r"^[A-Z]{2}$")
# Loose on purpose: a two-letter country prefix and 2–13 letters or digits (EU VAT numbers,
# Swiss CHE…, Norwegian …MVA). Not checked against VIES: that would be a network call.
VAT_ID = re.compile(r"^[A-Z]{2}[0-9A-Z+*]{2,13}$")
VAT_PREFIX_ALIASES = {"GR": "EL"}  # Greece's VAT numbers start with EL


def normalize_vat_id(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value).upper()


class PlanChoiceForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.public(), to_field_name="slug", empty_label=None)
    # A paid upgrade's confirmation page sends the amount it stated; nothing else is charged.
    charge = forms.IntegerField(required=False, min_value=0)

    def __init__(self, *args, current: Plan | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if current is not None and current.pk:
            # The current plan can always be chosen again (to cancel a pending downgrade).
            self.fields["plan"].queryset = Plan.objects.filter(is_public=True) | Plan.objects.filter(pk=current.pk)


class BillingDetailsForm(forms.ModelForm):
    country = forms.CharField(
        max_length=2,
        help_text="Two-letter ISO code, e.g. DE.",
        error_messages={"max_length": "Enter the two-letter country code, e.g. DE, FR or US."},
    )

    class Meta:
        model = BillingDetails
        fields = ["name", "address_line1", "address_line2", "postal_code", "city", "country", "vat_id", "email"]
        help_texts = {"vat_id": "With its country prefix, e.g. DE123456789. Leave empty if you have none."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].widget.attrs.update({"maxlength": 2, "autocomplete": "country", "size": 4})
        self.fields["name"].widget.attrs["autocomplete"] = "organization"
        self.fields["address_line1"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["address_line2"].widget.attrs["autocomplete"] = "address-line2"
        self.fields["postal_code"].widget.attrs["autocomplete"] = "postal-code"
        self.fields["city"].widget.attrs["autocomplete"] = "address-level2"

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter the name invoices are addressed to.")
        return name

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if not COUNTRY.match(country):
            raise forms.ValidationError("Enter the two-letter country code, e.g. DE, FR or US.")
        return country

    def clean_vat_id(self):
        vat_id = normalize_vat_id(self.cleaned_data.get("vat_id", ""))
        if vat_id and not VAT_ID.match(vat_id):
            raise forms.ValidationError(
                "This does not look like a VAT ID: a country prefix and 2–13 letters or digits."
            )
        return vat_id

    def clean(self):
        cleaned = super().clean()
        vat_id, country = cleaned.get("vat_id"), cleaned.get("country")
        if vat_id and country and vat_id[:2] not in (country, VAT_PREFIX_ALIASES.get(country)) and vat_id[:2].isalpha():
            known_eu = {
                "AT",
                "BE",
                "BG",
                "CY",
                "CZ",
                "DE",
                "DK",
                "EE",
                "EL",
                "ES",
                "FI",
                "FR",
                "HR",
                "HU",
                "IE",
                "IT",
                "LT",
                "LU",
                "LV",
                "MT",
                "NL",
                "PL",
                "PT",
                "RO",
                "SE",
                "SI",
                "SK",
                "XI",
            }
            if vat_id[:2] in known_eu:
                self.add_error("vat_id", f"This VAT ID is from {vat_id[:2]}, but the country is {country}.")
        return cleaned

    def details(self) -> dict:
        return {name: self.cleaned_data[name] for name in self._meta.fields}


ALERT_QUOTAS = MONTHLY_QUOTAS + STORAGE_QUOTAS


class UsageAlertsForm(forms.Form):
    """Alert thresholds per quota ("50, 80, 100": percents of the plan's limit) and the upload cap."""

    upload_cap_percent = forms.IntegerField(
        label="Refuse uploads at",
        required=False,
        min_value=1,
        max_value=100,
        help_text="Percent of the plan's uploads, storage and file limits. Empty: at the limits themselves.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for quota, label in ALERT_QUOTAS:
            self.fields[quota] = forms.CharField(
                label=label,
                required=False,
                max_length=40,
                help_text=f"Up to {MAX_ALERT_THRESHOLDS} percents, e.g. 50, 80, 100. Empty: no alerts.",
            )

    @classmethod
    def from_settings(cls, usage_settings) -> "UsageAlertsForm":
        initial = {q: ", ".join(str(t) for t in usage_settings.thresholds_for(q)) for q, _ in ALERT_QUOTAS}
        initial["upload_cap_percent"] = usage_settings.upload_cap_percent
        return cls(initial=initial)

    def clean(self):
        cleaned = super().clean()
        for quota, _ in ALERT_QUOTAS:
            if quota in cleaned:
                try:
                    cleaned[quota] = _percents(cleaned[quota])
                except forms.ValidationError as exc:
                    self.add_error(quota, exc)
        return cleaned

    def thresholds(self) -> dict[str, list[int]]:
        return {quota: self.cleaned_data[quota] for quota, _ in ALERT_QUOTAS}


def _percents(text: str) -> list[int]:
    parts = [part.strip() for part in re.split(r"[,\s]+", text.strip()) if part.strip()]
    if len(parts) > MAX_ALERT_THRESHOLDS:
        raise forms.ValidationError(f"Enter at most {MAX_ALERT_THRESHOLDS} thresholds.")
    if bad := [part for part in parts if not part.isdigit() or not 1 <= int(part) <= 100]:
        listed = ", ".join(f"“{part}”" for part in bad)
        verb = "is not a whole percent" if len(bad) == 1 else "are not whole percents"
        raise forms.ValidationError(f"{listed} {verb} from 1 to 100.")
    return sorted({int(part) for part in parts})

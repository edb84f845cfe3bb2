"""The Integrate page's snippets: `@uploadcare/file-uploader` configured by the options a person
picks, pointed at this server, and the same upload in pyuploadcare and upload-client."""

import json
import re
from html import escape

from django import forms

PACKAGE = "https://cdn.jsdelivr.net/npm/@uploadcare/file-uploader@1/web"
SOURCES = [
    ("local", "Device"),
    ("url", "Link"),
    ("camera", "Camera"),
    ("dropbox", "Dropbox"),
    ("gdrive", "Google Drive"),
    ("gphotos", "Google Photos"),
    ("onedrive", "OneDrive"),
    ("box", "Box"),
    ("facebook", "Facebook"),
    ("instagram", "Instagram"),
]
CROP_PRESETS = re.compile(r"^\s*(free|\d{1,4}:\d{1,4})(\s*,\s*(free|\d{1,4}:\d{1,4}))*\s*$")


class UploaderOptionsForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[("regular", "A button that opens a dialog"), ("inline", "Inline on the page"), ("minimal", "Minimal")],
        initial="regular",
    )
    sources = forms.MultipleChoiceField(
        choices=SOURCES, initial=["local", "url", "camera"], widget=forms.CheckboxSelectMultiple, required=False
    )
    multiple = forms.BooleanField(initial=True, required=False, label="Several files at once")
    max_size_mb = forms.IntegerField(required=False, min_value=1, label="Largest file (MB)", help_text="Empty: any.")
    img_only = forms.BooleanField(required=False, label="Images only")
    crop_presets = forms.CharField(
        required=False, max_length=100, label="Crop presets", help_text="e.g. 1:1, 16:9, free. Empty: no cropping."
    )
    image_editor = forms.BooleanField(initial=True, required=False, label="Image editor")
    group_output = forms.BooleanField(required=False, label="Hand back a group of the files")
    theme = forms.ChoiceField(choices=[("light", "Light"), ("dark", "Dark")], initial="light")

    def clean_crop_presets(self) -> str:
        value = self.cleaned_data["crop_presets"].strip()
        if value and not CROP_PRESETS.match(value):
            raise forms.ValidationError("Ratios like 1:1 or 16:9 (or free), separated by commas.")
        return ", ".join(part.strip() for part in value.split(",")) if value else ""

    def options(self) -> dict:
        """The chosen options, the defaults for anything not (validly) chosen."""
        defaults = {name: field.initial for name, field in self.fields.items()}
        if not self.is_bound or not self.is_valid():
            return {**defaults, "max_size_mb": None, "img_only": False, "crop_presets": "", "group_output": False}
        return self.cleaned_data


def uploader_snippet(options: dict, *, public_key: str, upload_base: str, cdn_origin: str) -> str:
    """The page fragment that puts the File Uploader, configured so, on a site."""
    mode = options["mode"]
    attributes = {
        "ctx-name": "my-uploader",
        "pubkey": public_key,
        "base-url": upload_base,
        "cdn-cname": cdn_origin,
        "source-list": ", ".join(options["sources"] or ["local"]),
        "multiple": _bool(options["multiple"]),
        "img-only": _bool(options["img_only"]),
        "use-cloud-image-editor": _bool(options["image_editor"]),
        "group-output": _bool(options["group_output"]),
        # Uploadcare's uploader reports usage to Uploadcare's own servers unless told not to.
        "quality-insights": "false",
    }
    if options["max_size_mb"]:
        attributes["max-local-file-size-bytes"] = str(options["max_size_mb"] * 1024 * 1024)
    if options["crop_presets"]:
        attributes["crop-preset"] = options["crop_presets"]
    config = "\n".join(f'  {name}="{escape(value)}"' for name, value in attributes.items())
    element = f"uc-file-uploader-{mode}"
    return f"""<link rel="stylesheet" href="{PACKAGE}/uc-file-uploader-{mode}.min.css">
<script type="module">
  import * as UC from "{PACKAGE}/file-uploader.min.js";
  UC.defineComponents(UC);
  document.querySelector("uc-upload-ctx-provider").addEventListener("file-upload-success", (event) => {{
    console.log("uploaded", event.detail.uuid, event.detail.cdnUrl);
  }});
</script>
<uc-config
{config}
></uc-config>
<{element} ctx-name="my-uploader" class="uc-{options["theme"]}"></{element}>
<uc-upload-ctx-provider ctx-name="my-uploader"></uc-upload-ctx-provider>"""


def pyuploadcare_snippet(
    *, public_key: str, upload_base: str, api_base: str, cdn_base: str, secret_key: str | None = None
) -> str:
    """`secret_key`: the plain secret when the page shows it (once), else a placeholder."""
    secret = (
        f"{json.dumps(secret_key)},  # keep it on your servers" if secret_key else '"YOUR_SECRET_KEY",  # API keys page'
    )
    return f"""from pyuploadcare import Uploadcare

uploadcare = Uploadcare(
    public_key={json.dumps(public_key)},
    secret_key={secret}
    upload_base={json.dumps(upload_base)},
    api_base={json.dumps(api_base)},
    cdn_base={json.dumps(cdn_base)},
)
with open("photo.jpg", "rb") as photo:
    print(uploadcare.upload(photo, store=True).cdn_url)"""


def upload_client_snippet(*, public_key: str, upload_base: str, cdn_base: str) -> str:
    return f"""import {{ uploadFile }} from "@uploadcare/upload-client";

const file = await uploadFile(fileData, {{
  publicKey: {json.dumps(public_key)},
  baseURL: {json.dumps(upload_base.rstrip("/"))},
  baseCDN: {json.dumps(cdn_base)},  // with its trailing slash: the client appends the file's UUID
  store: "auto",
}});
console.log(file.cdnUrl);"""


def _bool(value) -> str:
    return "true" if value else "false"

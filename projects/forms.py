from django import forms

from projects.models import INVITABLE_ROLES, Membership, Role


class ProjectNameForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)

    def clean_name(self):
        name = self.cleaned_data["name"]
        if not name:
            raise forms.ValidationError("Give the project a name.")
        return name


class ProjectDeleteForm(forms.Form):
    confirm_name = forms.CharField(label="Type the project name to confirm", max_length=100)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_confirm_name(self):
        value = self.cleaned_data["confirm_name"]
        if value.strip() != self.project.name:
            raise forms.ValidationError("The name you typed does not match the project's name.")
        return value


class SecretKeyForm(forms.Form):
    label = forms.CharField(max_length=100, strip=True, help_text="Where the key is used, e.g. “production backend”.")


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=INVITABLE_ROLES, initial=Role.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=INVITABLE_ROLES)


class TransferForm(forms.Form):
    membership = forms.ModelChoiceField(queryset=Membership.objects.none(), label="New owner")

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = project.memberships.exclude(role=Role.OWNER).select_related("user")
        self.fields["membership"].label_from_instance = lambda m: f"{m.user.email} ({m.get_role_display()})"

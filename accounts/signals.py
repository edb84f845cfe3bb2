from allauth.account.signals import user_logged_in, user_signed_up
from django.dispatch import receiver

from accounts.audit import login_device_check
from accounts.services import account_setup


@receiver(user_signed_up)
def give_new_account_a_project(sender, request, user, **kwargs):
    account_setup(user=user)


@receiver(user_logged_in)
def note_sign_in_device(sender, request, user, **kwargs):
    login_device_check(user=user, request=request)

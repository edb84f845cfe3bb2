from allauth.account.signals import user_signed_up
from django.dispatch import receiver

from accounts.services import account_setup


@receiver(user_signed_up)
def give_new_account_a_project(sender, request, user, **kwargs):
    account_setup(user=user)

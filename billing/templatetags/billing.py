from django import template

from billing.money import format_money

register = template.Library()


@register.filter
def money(cents, currency="USD") -> str:
    return format_money(int(cents or 0), currency or "USD")

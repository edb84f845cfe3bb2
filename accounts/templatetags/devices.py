"""`{{ user_agent|browser_and_os }}`: "Firefox on Linux" instead of a raw user agent string."""

from django import template

from accounts.audit import device_from

register = template.Library()


@register.filter
def browser_and_os(user_agent: str) -> str:
    if not user_agent:
        return "Unknown device"
    device = device_from(user_agent, None)
    if (device.browser, device.os) == ("Other", "Other"):
        return "Another client"  # curl, a library: the raw string is in the title
    return f"{device.browser} on {device.os}"

"""Numbers read from requests and from other servers' headers.

Python's int() refuses strings of more than 4,300 digits with a ValueError, and works in time
that grows with the length below that. A number a client or an origin sends is read through
here: ASCII digits only, and past `cap` it is `cap` without being converted.
"""


def bounded_int(text: str, *, cap: int = 2**63 - 1) -> int | None:
    """The non-negative integer `text` spells, at most `cap`; None if it is not plain digits."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(cap)):
        return cap
    return min(int(digits), cap)

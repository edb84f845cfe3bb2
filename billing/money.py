SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_money(cents: int, currency: str) -> str:
    """'$29.00', '€9.50', '1,200.00 CHF'; negative amounts with a minus sign."""
    sign = "−" if cents < 0 else ""
    amount = f"{abs(cents) / 100:,.2f}"
    symbol = SYMBOLS.get(currency.upper())
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency.upper()}"

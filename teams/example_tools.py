"""Offline, deterministic example tools for the sample team files.

Referenced from a team file as ``example_tools:get_exchange_rate`` (the team file's directory is
searched first). The rates are fixed sample rates, not live data: runs and tests must give the same
answer every time and never need the network.
"""

from __future__ import annotations

# Units of each currency per one US dollar. Sample values only.
_PER_USD: dict[str, float] = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "CHF": 0.88, "INR": 83.0}


def _units_per_usd(code: str) -> float:
    key = code.strip().upper()  # models write "eur" as often as "EUR"
    if key not in _PER_USD:
        known = ", ".join(sorted(_PER_USD))
        raise ValueError(f"unknown currency {code!r}; known currencies: {known}")
    return _PER_USD[key]


def get_exchange_rate(base: str, quote: str) -> float:
    """Get the exchange rate from one currency to another (fixed sample rates, not live data).

    Args:
        base: ISO 4217 code of the currency to convert from, e.g. "USD".
        quote: ISO 4217 code of the currency to convert to, e.g. "EUR".

    Returns:
        How many units of the quote currency one unit of the base currency buys, rounded to 6 decimals.
    """
    return round(_units_per_usd(quote) / _units_per_usd(base), 6)


def convert_amount(amount: float, base: str, quote: str = "USD") -> dict[str, float | str]:
    """Convert an amount of money between currencies (fixed sample rates, not live data).

    Args:
        amount: The amount of money, in the base currency.
        base: ISO 4217 code of the currency the amount is in.
        quote: ISO 4217 code of the currency to convert to.

    Returns:
        The rate used and the converted amount, rounded to 2 decimals.
    """
    rate = get_exchange_rate(base, quote)
    return {"base": base.upper(), "quote": quote.upper(), "rate": rate, "converted": round(amount * rate, 2)}

"""How numbers print, the same in every view: integers as integers, others with at most 4 significant digits."""

from __future__ import annotations

import math


def fmt(value: float) -> str:
    """1.0 -> '1', 0.123456 -> '0.1235', -inf -> '-∞', 1e-5 -> '1e-05'."""
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.4g}"
    return "0" if text in ("-0", "0") else text


def term(value: float) -> str:
    """fmt(value), parenthesised when negative so it reads inside a formula: '(-2)'."""
    text = fmt(value)
    return f"({text})" if text.startswith("-") else text

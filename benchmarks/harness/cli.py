"""Argument types the scripts share."""

from __future__ import annotations

import argparse


def positive_ints(value: str) -> list[int]:
    """``1,4,16`` -> [1, 4, 16]; each at least 1."""
    try:
        numbers = [int(x) for x in value.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: expected integers, e.g. 1,4,16") from exc
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected positive integers")
    return numbers


def positive_floats(value: str) -> list[float]:
    """``100,75,50`` -> [100.0, 75.0, 50.0]; each above 0."""
    try:
        numbers = [float(x) for x in value.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: expected numbers, e.g. 100,75,50") from exc
    if not numbers or min(numbers) <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: expected positive numbers")
    return numbers

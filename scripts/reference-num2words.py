#!/usr/bin/env python3
"""Writes the reference table the core's Indonesian number tests check against: values as a
jury's means come out (and random ones), each with its figure (two decimals, rounded once, half
up, as a decimal) and its words by num2words, an independent implementation.

Usage: pip install num2words && scripts/reference-num2words.py > crates/tinjau-core/tests/core/num2words-id.tsv
"""
import random
from decimal import Decimal, ROUND_HALF_UP

from num2words import num2words

random.seed(2023_11_28)
values = set()
while len(values) < 6000:
    kind = random.random()
    if kind < 0.6:
        # The mean of n scores with at most two decimals on a 0-100 scale.
        n = random.randint(1, 10)
        scores = [random.randint(0, 10000) / 100 for _ in range(n)]
        values.add(sum(scores) / n)
    elif kind < 0.8:
        # Exact halves at the third decimal, where binary rounding and decimal rounding differ.
        values.add(random.randint(0, 100000) / 1000 + 0.005 * random.randint(0, 1))
    else:
        values.add(random.uniform(0, 1_000_000))

print("value\tfigure\twords")
for value in sorted(values):
    text = repr(value)
    if "e" in text:
        continue
    rounded = Decimal(text).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, fraction = f"{rounded:f}".split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    figure = f"{grouped},{fraction}"
    spoken = f"{rounded:f}".rstrip("0").rstrip(".")
    print(f"{text}\t{figure}\t{num2words(Decimal(spoken), lang='id')}")

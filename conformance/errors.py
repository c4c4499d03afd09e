"""Exceptions as one short line for the report."""

import re


def describe(exception):
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exception))  # Keras's bold markers
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(exception).__name__}: {' / '.join(lines[:4])}"[:400]

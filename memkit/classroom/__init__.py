"""The classroom kit: exercise checks, student copies of exercise notebooks, the course recording."""

from __future__ import annotations

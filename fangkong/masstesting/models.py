"""Models of the mass-testing domain."""

from __future__ import annotations

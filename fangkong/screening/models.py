"""Models of the screening domain."""

from __future__ import annotations

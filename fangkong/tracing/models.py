"""Models of the tracing domain."""

from __future__ import annotations

"""Operator UI views, one module per area; every view is marked @scoped or @public."""

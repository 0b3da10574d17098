"""Every write of the tracing app: cases, investigations, exposures and contact marks
(`cases`), contact generations (`generations`)."""

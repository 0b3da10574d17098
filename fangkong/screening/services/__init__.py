"""Every write of the screening app: arrivals (`arrivals`), the rule table (`rules`), risk
areas and zones (`areas`), assistance lists (`assistance`)."""

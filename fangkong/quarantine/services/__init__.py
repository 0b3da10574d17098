"""Every write of the quarantine app: sites and rooms (`sites`), stays (`stays`)."""

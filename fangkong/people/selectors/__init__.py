"""Every read of the people app for the request layer, scoped to the actor: persons
(`persons`) and control measures (`measures`)."""

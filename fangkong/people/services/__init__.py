"""Every write of the people app: persons (`persons`), control measures (`measures`), their
plans (`measure_plans`) and test results (`measure_results`), person-list imports (`imports`)."""

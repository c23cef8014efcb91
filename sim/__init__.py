"""m2c.sim: the SimPy model of a utility's read-bill-collect year, policies, KPIs and the CLI."""

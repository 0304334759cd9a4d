"""Domain data: SQLModel tables, the plan importer, queries, fiscal years and the clock (no Flask, no LINE)."""

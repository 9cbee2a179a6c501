"""The code that runs inside the sandbox. Depends on duckdb only."""

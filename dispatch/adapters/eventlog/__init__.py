"""The hash-chained event log in SQL: its tables, store, chain walk, signed checkpoints and wake-ups."""

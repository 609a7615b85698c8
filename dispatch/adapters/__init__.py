"""What the application stands on: the event log per database, SQL tables and migrations, accounts and
sign-in lockout, the need-to-know record, the embedded Redis. Adapters never import the application or
its entry points."""

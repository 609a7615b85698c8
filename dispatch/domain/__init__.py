"""The rules of maritime dispatch, pure: vocabulary, commands, events, decisions, policies, recommendations
and geography. Nothing here does I/O or imports from outside this package (a contract the tests check)."""

"""Pure decisions: `evolve(state, event)` folds a stream; `decide(command, state)` applies the rules."""

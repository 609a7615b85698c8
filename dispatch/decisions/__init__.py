"""Pure decisions: `evolve(state, event) -> state` folds a stream; `decide(command, state) -> events` applies the rules."""

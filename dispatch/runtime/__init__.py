"""What every process shares below the adapters: settings, the clock and logging."""

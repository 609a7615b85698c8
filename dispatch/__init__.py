"""Andaman maritime emergency dispatch: an event-sourced log and everything derived from it."""

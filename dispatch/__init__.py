"""Andaman maritime emergency dispatch: an event-sourced log and everything derived from it."""
__version__ = "0.1.0"

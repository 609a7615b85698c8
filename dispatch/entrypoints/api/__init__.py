"""The HTTP and WebSocket face of the system: thin routes over handle and the read models."""

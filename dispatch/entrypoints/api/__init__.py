"""The HTTP and WebSocket face of the system: thin routes over service.handle and the read models."""

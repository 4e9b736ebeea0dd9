"""The HTTP API: FastAPI routers by resource; routes call the application service, never tables."""

"""The HTTP edge: FastAPI app, schemas, routes and the error mapping."""

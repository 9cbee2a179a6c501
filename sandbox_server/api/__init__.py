"""The HTTP API (FastAPI): ``create_app(settings)``."""

from sandbox_server.api.app import create_app

__all__ = ["create_app"]

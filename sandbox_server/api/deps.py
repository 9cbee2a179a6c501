"""FastAPI dependencies: the service and the authenticated user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from sandbox_server.auth import Authenticator
from sandbox_server.logs import current_user
from sandbox_server.service import Service


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_user(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    authenticator: Authenticator = request.app.state.authenticator
    user = authenticator.user_for(authorization)
    current_user.set(user)
    return user


ServiceDep = Annotated[Service, Depends(get_service)]
UserDep = Annotated[str, Depends(get_user)]

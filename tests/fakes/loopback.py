"""Serving a fake on loopback: a free port, an ASGI app in a background thread, and what the
calendar provider emulators share."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Generic, Protocol, Self, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackgroundServer:
    """An ASGI app served by uvicorn on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, port: int = 0, name: str = "server", *,
                 lifespan: bool = False, graceful_shutdown_seconds: float | None = None) -> None:
        self.app = app
        self._lifespan = "on" if lifespan else "off"
        self._graceful_shutdown_seconds = graceful_shutdown_seconds
        self.port = port or free_port()
        self._name = name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> BackgroundServer:
        """Serve; returns once the port accepts connections."""
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, lifespan=self._lifespan, ws_ping_interval=None,
                                timeout_graceful_shutdown=self._graceful_shutdown_seconds)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=self._name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self._name} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


class SignInWorld(Protocol):
    """An emulator's world, as the shared emulator code reads it."""

    lock: AbstractContextManager[Any]
    client_id: str
    client_secret: str
    next_sign_in: str | None


WorldT = TypeVar("WorldT", bound=SignInWorld)


class LoopbackEmulator(Generic[WorldT]):
    """A provider emulator (its routers over one world) served on ``127.0.0.1:<port>``:
    the lifecycle and the OAuth client both emulators share."""

    def __init__(self, world: WorldT, routers: Iterable[APIRouter], port: int,
                 name: str) -> None:
        self.world = world
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        for router in routers:
            app.include_router(router)
        self.app = app
        self._background = BackgroundServer(app, port, name)
        self.port = self._background.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Serve in a background thread; returns once the port accepts connections."""
        self._background.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._background.stop()

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted (``python -m tests.fakes.<provider>``)."""
        uvicorn.run(self.app, host="127.0.0.1", port=self.port, log_level="info")

    @property
    def client_id(self) -> str:
        return self.world.client_id

    @property
    def client_secret(self) -> str:
        return self.world.client_secret

    def sign_in_as(self, email: str) -> None:
        """The account the next browser sign-in picks (unless login_hint names another)."""
        with self.world.lock:
            self.world.next_sign_in = email.lower()

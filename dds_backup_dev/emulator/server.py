"""Running the emulator on its own thread and event loop.

The handler is synchronous and runs ``asyncio.run`` itself, so an in-process emulator must live on
another loop: tests, ``dds-backup invoke`` and the benchmarks all use this.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web

from dds_backup_dev.emulator.app import create_app
from dds_backup_dev.emulator.state import (
    DEMO_AK,
    DEMO_DOMAIN,
    DEMO_PASSWORD,
    DEMO_SK,
    DEMO_USER,
    EmulatorState,
)

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class EmulatorServer:
    def __init__(self, state: EmulatorState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in LOOPBACK:
            raise ValueError("the emulator only listens on loopback")
        self.state = state or EmulatorState.with_fixture()
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def info(self) -> dict[str, Any]:
        """What a client needs to talk to this emulator (demo credentials only)."""
        return {
            "endpoint": self.endpoint,
            "iam_endpoint": f"{self.endpoint}/v3",
            "project_id": self.state.project_id,
            "region": self.state.region,
            "ak": DEMO_AK,
            "sk": DEMO_SK,
            "username": DEMO_USER,
            "password": DEMO_PASSWORD,
            "domain": DEMO_DOMAIN,
        }

    def env(self, auth: str = "password") -> dict[str, str]:
        """Configuration variables that point the function at this emulator."""
        env = {
            "DDS_ENDPOINT": self.endpoint,
            "IAM_ENDPOINT": self.endpoint,
            "SMN_ENDPOINT": self.endpoint,
            "PROJECT_ID": self.state.project_id,
        }
        if auth == "aksk":
            env.update(HUAWEICLOUD_SDK_AK=DEMO_AK, HUAWEICLOUD_SDK_SK=DEMO_SK)
        else:
            env.update(OS_USERNAME=DEMO_USER, OS_PASSWORD=DEMO_PASSWORD, OS_USER_DOMAIN_NAME=DEMO_DOMAIN)
        return env

    async def start_async(self) -> None:
        self._runner = web.AppRunner(create_app(self.state), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])

    async def stop_async(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> EmulatorServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop_async())
            loop.close()

        self._thread = threading.Thread(target=run, name="dds-emulator", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

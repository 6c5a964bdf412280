"""The HTTP API: routes, request validation, structured request logs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .cache import BlinkCache, Breaker
from .config import Config
from .origin import Origin
from .service import ItemService

#: Item ids are path segments and cache-key suffixes: short, and safe in both.
ITEM_ID = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,128}$")]
#: Largest PUT body accepted; well under Blink-Store's default 1 MiB value limit.
MAX_BODY_BYTES = 64 * 1024

log = logging.getLogger("backend.http")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's `event` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **getattr(record, "event", {}),
        }
        return json.dumps(line)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    logging.basicConfig(level=level, handlers=[handler], force=True)


def create_app(config: Config) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        origin = Origin(config.origin_path, config.origin_delay_ms)
        cache = None
        if config.cache_enabled:
            breaker = Breaker(config.breaker_failures, config.breaker_cooldown_ms)
            cache = BlinkCache(config.blink_address, config.blink_token, config.cache_timeout_ms, breaker)
        app.state.items = ItemService(origin, cache, config.cache_ttl_ms, config.cache_ttl_jitter_percent)
        log.info("started", extra={"event": {"port": config.port, "cache": config.blink_address if cache else None}})
        yield
        # Uvicorn has stopped accepting and finished the requests in flight by now.
        if cache is not None:
            await cache.close()
        origin.close()
        log.info("stopped")

    app = FastAPI(title="Blink-Store backend example", lifespan=lifespan)

    # The same error bodies as the other apps: {"error": "..."}, and 400 (not 422) for a bad id.
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "id must match [A-Za-z0-9_.-]{1,128}"}, status_code=400)

    @app.middleware("http")
    async def request_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        log.info(
            "request",
            extra={
                "event": {
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
            },
        )
        return response

    def items(request: Request) -> ItemService:
        service: ItemService = request.app.state.items
        return service

    @app.get("/items/{item_id}")
    async def get_item(item_id: ITEM_ID, request: Request) -> dict[str, Any]:
        item = await items(request).get(item_id)
        if item is None:
            raise HTTPException(404, "no such item")
        return item.to_json()

    @app.put("/items/{item_id}")
    async def put_item(item_id: ITEM_ID, request: Request) -> dict[str, Any]:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"body over {MAX_BODY_BYTES} bytes")
        try:
            value = json.loads(body)
        except ValueError:
            raise HTTPException(400, "body is not JSON") from None
        return (await items(request).put(item_id, value)).to_json()

    @app.delete("/items/{item_id}", status_code=204)
    async def delete_item(item_id: ITEM_ID, request: Request) -> Response:
        if not await items(request).delete(item_id):
            raise HTTPException(404, "no such item")
        return Response(status_code=204)

    @app.get("/stats")
    async def stats(request: Request) -> dict[str, Any]:
        return items(request).stats()

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        # Healthy means "can serve": the origin answers. A sick cache only slows us down,
        # so it is reported, never failed on (restarting the app would not heal the cache).
        service = items(request)
        try:
            await service.origin.ping()
        except Exception as exc:  # noqa: BLE001 - any origin failure makes us unhealthy
            return JSONResponse({"status": "unhealthy", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "breaker": service.stats()["breaker"]})

    return app

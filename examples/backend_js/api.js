// The HTTP API: Express routes, request validation, structured request logs.

import express from "express";

// Item ids are path segments and cache-key suffixes: short, and safe in both.
const ITEM_ID = /^[A-Za-z0-9_.-]{1,128}$/;
// Largest PUT body accepted; well under Blink-Store's default 1 MiB value limit.
const MAX_BODY = "64kb";

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function itemId(req) {
  if (!ITEM_ID.test(req.params.id)) throw new HttpError(400, "id must match [A-Za-z0-9_.-]{1,128}");
  return req.params.id;
}

export function createApp(items, log) {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false); // the cache under test is ours; no conditional GETs

  app.use((req, res, next) => {
    const started = performance.now();
    res.on("finish", () => {
      log.info("request", {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
      });
    });
    next();
  });

  app.get("/items/:id", async (req, res) => {
    const item = await items.get(itemId(req));
    if (item === null) throw new HttpError(404, "no such item");
    res.json(item);
  });

  // Any content type: the body is JSON whatever the client called it; any JSON value, not only objects.
  app.put("/items/:id", express.json({ limit: MAX_BODY, strict: false, type: () => true }), async (req, res) => {
    const id = itemId(req);
    if (req.body === undefined) throw new HttpError(400, "body is not JSON");
    res.json(await items.put(id, req.body));
  });

  app.delete("/items/:id", async (req, res) => {
    if (!(await items.delete(itemId(req)))) throw new HttpError(404, "no such item");
    res.status(204).end();
  });

  app.get("/stats", (req, res) => {
    res.json(items.stats());
  });

  // Healthy means "can serve": the origin answers. A sick cache only slows us down,
  // so it is reported, never failed on (restarting the app would not heal the cache).
  app.get("/healthz", (req, res) => {
    items.origin.ping();
    res.json({ status: "ok", breaker: items.stats().breaker });
  });

  app.use((req, res) => {
    res.status(404).json({ error: "not found" });
  });

  // Express 5 routes rejected promises here. body-parser errors carry their own status (400, 413).
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    const status = Number.isInteger(err.status) ? err.status : 500;
    if (status >= 500) log.error("request failed", { path: req.path, error: err.message });
    res.status(status).json({ error: status >= 500 ? "internal error" : err.message });
  });

  return app;
}

// HTTP backend with Blink-Store as its cache: Express over SQLite (better-sqlite3).
//
//   (cd examples/backend_js && npm ci) && node examples/backend_app.js
//
// Configuration is by environment variable (examples/README.md lists them).
// The modules are in backend_js/, beside their package.json and node_modules.

import { Breaker, BlinkCache } from "./backend_js/cache.js";
import { ConfigError, createLogger, loadConfig } from "./backend_js/config.js";
import { createApp } from "./backend_js/api.js";
import { Origin } from "./backend_js/origin.js";
import { ItemService } from "./backend_js/service.js";

// How long a shutdown waits for requests in flight before exiting anyway.
const SHUTDOWN_GRACE_MS = 10_000;

function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`backend_app: ${err.message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  const origin = new Origin(config.originPath, config.originDelayMs);
  const cache = config.cacheEnabled
    ? new BlinkCache(
        config,
        new Breaker(config.breakerFailures, config.breakerCooldownMs, log),
        log,
      )
    : null;
  const items = new ItemService(origin, cache, config, log);

  const server = createApp(items, log).listen(config.port, config.host, () => {
    const { port } = server.address();
    log.info("started", {
      port,
      cache: config.cacheEnabled ? config.blink : null,
    });
  });

  const shutdown = (signal) => {
    log.info("stopping", { signal });
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    // close() stops accepting, lets requests in flight finish and closes idle keep-alive connections.
    server.close(async () => {
      await cache?.close();
      origin.close();
      log.info("stopped");
    });
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main();

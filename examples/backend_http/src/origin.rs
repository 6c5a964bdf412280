//! The origin: a SQLite table standing in for a slow database.
//!
//! Every call first sleeps `ORIGIN_DELAY_MS` (a real database's network and
//! query time), then runs its statement on the blocking pool, so no runtime
//! thread waits on the file. The schema is shared by the SQLite-backed apps in
//! `examples/`, which may use one file at the same time (WAL mode, busy timeout).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    value TEXT NOT NULL,          -- the item's JSON value, as text
    updated_at_ms INTEGER NOT NULL
)";

/// How long a statement waits for another app's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An item: the HTTP body and, encoded as UTF-8 JSON, the cached value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The id, also the cache key's suffix.
    pub id: String,
    /// Any JSON value.
    pub value: serde_json::Value,
    /// When the origin stored it, in ms since the Unix epoch.
    pub updated_at_ms: i64,
}

/// A failed origin call, shared by every waiter of a single-flight read.
pub type OriginError = Arc<rusqlite::Error>;

/// The SQLite origin and its call counters.
pub struct Origin {
    // One connection, serialised by the mutex: statements take microseconds,
    // the simulated delay is slept outside it.
    db: Arc<Mutex<Connection>>,
    delay: Duration,
    /// Reads made (each GET that missed the cache and led a flight).
    pub reads: AtomicU64,
    /// Writes made (PUT and DELETE).
    pub writes: AtomicU64,
}

impl Origin {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, delay: Duration) -> rusqlite::Result<Origin> {
        let db = Connection::open(path)?;
        db.busy_timeout(BUSY_TIMEOUT)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.execute_batch(SCHEMA)?;
        Ok(Origin {
            db: Arc::new(Mutex::new(db)),
            delay,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        })
    }

    /// The item, or `None`.
    pub async fn get(&self, id: &str) -> Result<Option<Item>, OriginError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let id = id.to_owned();
        self.run(move |db| {
            db.query_row(
                "SELECT id, value, updated_at_ms FROM items WHERE id = ?1",
                [&id],
                |row| {
                    let text: String = row.get(1)?;
                    let value = serde_json::from_str(&text).map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(1, Type::Text, Box::new(e))
                    })?;
                    Ok(Item {
                        id: row.get(0)?,
                        value,
                        updated_at_ms: row.get(2)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    /// Stores `value` under `id` and returns the item.
    pub async fn put(&self, id: &str, value: serde_json::Value) -> Result<Item, OriginError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let item = Item {
            id: id.to_owned(),
            value,
            updated_at_ms: now_ms(),
        };
        let row = item.clone();
        self.run(move |db| {
            db.execute(
                "INSERT INTO items (id, value, updated_at_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms",
                params![row.id, row.value.to_string(), row.updated_at_ms],
            )
        })
        .await?;
        Ok(item)
    }

    /// Deletes the item; whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool, OriginError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let id = id.to_owned();
        self.run(move |db| db.execute("DELETE FROM items WHERE id = ?1", [&id]))
            .await
            .map(|n| n > 0)
    }

    /// A trivial query, for `/healthz`.
    pub async fn ping(&self) -> Result<(), OriginError> {
        let db = Arc::clone(&self.db);
        blocking(move || lock(&db).query_row("SELECT 1", [], |_| Ok(()))).await
    }

    async fn run<T: Send + 'static>(
        &self,
        statement: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, OriginError> {
        tokio::time::sleep(self.delay).await;
        let db = Arc::clone(&self.db);
        blocking(move || statement(&lock(&db))).await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, OriginError> {
    // A panic in a statement is a bug: propagate it rather than turn it into an HTTP 500.
    tokio::task::spawn_blocking(work)
        .await
        .expect("origin statement panicked")
        .map_err(Arc::new)
}

fn lock(db: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    // A statement that panicked holding the lock left the connection intact (SQLite rolls back).
    db.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

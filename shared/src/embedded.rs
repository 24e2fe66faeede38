//! The embedded database: one SQLite file holding the store and the queues.
//!
//! WAL mode keeps it durable across restarts and lets several processes use
//! the same file; writers take the lock up front (`BEGIN IMMEDIATE`) and wait
//! for each other through the busy timeout instead of failing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, TransactionBehavior};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    gsi1pk TEXT,
    gsi1sk TEXT,
    expires_at INTEGER,
    attrs TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS blobs (
    id TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    sent_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_due ON queue_messages (queue, visible_at_ms);
"#;

/// A handle on the SQLite file, cheap to clone.
#[derive(Clone)]
pub struct EmbeddedDb {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl EmbeddedDb {
    /// Opens (creating when needed) the database file and its schema.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the directory of {}", path.display()))?;
        }
        let conn = Connection::open(&path)
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)
            .context("creating the embedded schema")?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection on a blocking thread.
    pub(crate) async fn read<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| anyhow::anyhow!("embedded database lock poisoned"))?;
            f(&guard)
        })
        .await
        .context("embedded database task")?
    }

    /// Runs `f` inside an immediate (write-locked) transaction; commits when it
    /// returns `Ok`, rolls back otherwise.
    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<anyhow::Error> + Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| anyhow::anyhow!("embedded database lock poisoned"))?;
            let tx = guard
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .context("starting a write transaction")?;
            let out = f(&tx)?;
            tx.commit().context("committing a write transaction")?;
            Ok(out)
        })
        .await
        .map_err(|e| E::from(anyhow::anyhow!("embedded database task: {e}")))?
    }
}

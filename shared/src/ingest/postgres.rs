//! PostgreSQL, where an app keeps its own data: the connection the events sink and the uploads
//! store share, and the tables they use.
//!
//! A function instance serves one request at a time (Lambda, SCF), so it holds **one** lazily
//! opened connection and reuses it across requests; a connection that fails is dropped and the
//! next request opens a new one (the first write after a database restart fails, and VOD's
//! redelivery succeeds). Opening and every statement run inside the caller's time budget.
//!
//! The tables have fixed names, `vodgate_events` and `vodgate_uploads`, in the database and
//! schema the URL names (`options=-csearch_path=<schema>` separates deployments in one
//! database). The events function creates them on its first connection; several instances
//! starting at once would race `CREATE TABLE IF NOT EXISTS` (PostgreSQL then fails some of them
//! with a unique violation on its catalog), so the DDL runs under a transaction-scoped advisory
//! lock. `vodgate migrate` runs the same DDL for operators who keep DDL rights away from
//! functions; `sign` only reads.
//!
//! TLS is rustls on aws-lc-rs, verifying the server's certificate and name against the system's
//! roots plus the PEM file of `sslrootcert=<path>` when the URL has one (a managed database's
//! CA, RDS's or TencentDB's, is usually not a public root). `sslmode` is PostgreSQL's:
//! `disable` (plain), `prefer` (the default: TLS when the server offers it), `require` (TLS or
//! nothing). Whenever TLS is used, the certificate is verified: there is no "encrypt but trust
//! anyone" mode.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use super::sink::Unavailable;
use crate::platform::config::{ConfigError, Env};
use crate::platform::keys::{KeySet, Keys, SecretsManager, StartError};
use crate::platform::secret::Secret;

/// The variable that may hold the password instead of the URL.
pub(crate) const PASSWORD_VAR: &str = "DATABASE_PASSWORD";
/// The longest wait for a connection (a statement is bounded by the caller's budget).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Both tables and their indexes, created idempotently under an advisory lock of its own
/// (its key is `"vodgate\0"` read as a big-endian integer).
pub const SCHEMA_SQL: &str = "
BEGIN;
SELECT pg_advisory_xact_lock(8534150214069806336);
CREATE TABLE IF NOT EXISTS vodgate_events (
    id text PRIMARY KEY,
    type text NOT NULL,
    event_type text NOT NULL,
    file_id text,
    uploader_sub text,
    received_at timestamptz NOT NULL,
    envelope jsonb,
    envelope_text text,
    CHECK ((envelope IS NULL) <> (envelope_text IS NULL))
);
CREATE INDEX IF NOT EXISTS vodgate_events_by_file ON vodgate_events (file_id);
CREATE INDEX IF NOT EXISTS vodgate_events_by_uploader ON vodgate_events (uploader_sub, received_at);
CREATE TABLE IF NOT EXISTS vodgate_uploads (
    pk text PRIMARY KEY,
    owner text,
    list_key text,
    item text NOT NULL
);
CREATE INDEX IF NOT EXISTS vodgate_uploads_by_owner
    ON vodgate_uploads (owner, list_key) WHERE owner IS NOT NULL;
COMMIT;
";

/// Where a `postgres://` URL points, and how to reach it. Cheap to clone.
#[derive(Clone)]
pub struct Postgres(Arc<Inner>);

struct Inner {
    config: tokio_postgres::Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    password: Option<Arc<Keys<DatabasePassword>>>,
    described: String,
    creates_tables: bool,
    tables_ready: AtomicBool,
    client: Mutex<Option<Client>>,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.described)
    }
}

/// `DATABASE_PASSWORD`, from the environment or the Secrets Manager secret.
pub(crate) struct DatabasePassword(Option<Secret>);

impl DatabasePassword {
    pub(crate) fn derive(keys: &KeySet) -> Result<Self, ConfigError> {
        Ok(Self(keys.get(PASSWORD_VAR).cloned()))
    }
}

impl Postgres {
    /// [`Postgres::parse`] with `DATABASE_PASSWORD` from the environment or the
    /// `VODGATE_SECRET_ARN` secret, for a URL without a password.
    pub async fn from_env(
        env: &Env,
        var: &'static str,
        url: &str,
        creates_tables: bool,
    ) -> Result<Self, StartError> {
        let source = SecretsManager::from_env(env).await?;
        let password = Keys::load(env, source, DatabasePassword::derive).await?;
        Ok(Self::parse(
            var,
            url,
            Some(Arc::new(password)),
            creates_tables,
        )?)
    }

    /// Parses `url` (named by `var` in errors, which never quote it: it may hold a password).
    /// `password` is consulted at each connection when the URL has none. `creates_tables`: the
    /// first connection runs [`SCHEMA_SQL`] (the events function; `sign` only reads).
    pub(crate) fn parse(
        var: &'static str,
        url: &str,
        password: Option<Arc<Keys<DatabasePassword>>>,
        creates_tables: bool,
    ) -> Result<Self, ConfigError> {
        let (url, root_file) = take_param(url.trim(), "sslrootcert");
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            ConfigError::invalid(
                var,
                format!("not a PostgreSQL URL ({e}); the URL is not shown"),
            )
        })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("vodgate");
        }
        let tls = match config.get_ssl_mode() {
            SslMode::Disable => None,
            _ => Some(tls(root_file.as_deref()).map_err(|why| ConfigError::invalid(var, why))?),
        };
        let described = describe(&config);
        Ok(Self(Arc::new(Inner {
            password: password.filter(|_| config.get_password().is_none()),
            config,
            tls,
            described,
            creates_tables,
            tables_ready: AtomicBool::new(false),
            client: Mutex::new(None),
        })))
    }

    /// `postgres://user@host:port/database`: never the password or the options.
    pub fn describe(&self) -> &str {
        &self.0.described
    }

    /// The connection, opened (and the tables created) if need be. Holding it serialises this
    /// instance's statements, which a transaction needs anyway.
    pub(crate) async fn session(&self) -> Result<Session<'_>, (Unavailable, String)> {
        let mut guard = self.0.client.lock().await;
        if guard.as_ref().is_some_and(Client::is_closed) {
            *guard = None;
        }
        if guard.is_none() {
            let client = self.connect().await.map_err(|e| self.classify(&e))?;
            *guard = Some(client);
        }
        if self.0.creates_tables && !self.0.tables_ready.load(Ordering::Acquire) {
            let client = guard.as_ref().expect("connected above");
            if let Err(error) = client.batch_execute(SCHEMA_SQL).await {
                *guard = None;
                return Err(self.classify(&error));
            }
            self.0.tables_ready.store(true, Ordering::Release);
        }
        Ok(Session { guard, db: self })
    }

    /// Runs [`SCHEMA_SQL`] now (`vodgate migrate`).
    pub async fn migrate(&self) -> Result<(), String> {
        let session = self.session().await.map_err(|(_, why)| why)?;
        session
            .client()
            .batch_execute(SCHEMA_SQL)
            .await
            .map_err(|e| self.classify(&e).1)
    }

    async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        let mut config = self.0.config.clone();
        if let Some(keys) = &self.0.password
            && let Some(password) = &keys.current().await.0
        {
            config.password(password.expose());
        }
        let described = self.0.described.clone();
        let log_end = move |result: Result<(), tokio_postgres::Error>| {
            if let Err(error) = result {
                tracing::warn!(database = %described, %error, "PostgreSQL connection ended");
            }
        };
        match &self.0.tls {
            Some(tls) => {
                let (client, connection) = config.connect(tls.clone()).await?;
                tokio::spawn(async move { log_end(connection.await) });
                Ok(client)
            }
            None => {
                let (client, connection) = config.connect(NoTls).await?;
                tokio::spawn(async move { log_end(connection.await) });
                Ok(client)
            }
        }
    }

    /// A failure's kind and description (the server's message names no data, and the URL is
    /// shown without its password).
    pub(crate) fn classify(&self, error: &tokio_postgres::Error) -> (Unavailable, String) {
        let kind = match error.code() {
            Some(code)
                if code.code().starts_with("53")
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE =>
            {
                Unavailable::Busy
            }
            Some(code)
                if code.code().starts_with("28")
                    || code.code().starts_with("3D")
                    || *code == SqlState::UNDEFINED_TABLE
                    || *code == SqlState::INSUFFICIENT_PRIVILEGE =>
            {
                Unavailable::Refused
            }
            Some(code) if code.code().starts_with("57") || code.code().starts_with("08") => {
                Unavailable::Unreachable
            }
            Some(_) => Unavailable::Failed,
            // No SQLSTATE: the connection, not the server, failed (refused, closed, TLS).
            None => Unavailable::Unreachable,
        };
        (kind, format!("PostgreSQL {}: {error}", self.0.described))
    }
}

/// This instance's connection, held for a statement or a transaction.
pub(crate) struct Session<'a> {
    guard: MutexGuard<'a, Option<Client>>,
    db: &'a Postgres,
}

impl Session<'_> {
    pub(crate) fn client(&self) -> &Client {
        self.guard.as_ref().expect("a session holds a connection")
    }

    pub(crate) fn client_mut(&mut self) -> &mut Client {
        self.guard.as_mut().expect("a session holds a connection")
    }

    /// `error` as a failure of the store, dropping the connection unless the server merely
    /// refused the statement (a connection that failed is opened again next time).
    pub(crate) fn fail(mut self, error: &tokio_postgres::Error) -> (Unavailable, String) {
        if error.code().is_none() || error.is_closed() {
            *self.guard = None;
        }
        self.db.classify(error)
    }
}

/// `url` without the query parameter `name`, and its value (percent-decoded).
fn take_param(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.split_once('=') {
            Some((key, raw)) if key == name => {
                value = Some(
                    percent_encoding::percent_decode_str(raw)
                        .decode_utf8_lossy()
                        .into_owned(),
                );
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), value)
    } else {
        (format!("{base}?{}", kept.join("&")), value)
    }
}

/// The TLS connector: rustls on aws-lc-rs with the system's roots and `root_file`'s.
fn tls(root_file: Option<&str>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = root_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("sslrootcert {path:?} is not a readable PEM file ({e})"))?;
        if certs.is_empty() {
            return Err(format!("sslrootcert {path:?} holds no certificate"));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| format!("sslrootcert {path:?}: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `postgres://user@host:port/database`, from the parsed configuration.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let database = config.get_dbname().unwrap_or_default();
    format!("postgres://{user}{host}:{port}/{database}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_described_without_password_or_options() {
        let db = Postgres::parse(
            "EVENT_SINK",
            "postgres://app:s3cr3t@db.example:6543/vod?sslmode=disable&options=-csearch_path%3Dt1",
            None,
            true,
        )
        .unwrap();
        assert_eq!(db.describe(), "postgres://app@db.example:6543/vod");
        assert!(!format!("{db:?}").contains("s3cr3t"));
        for bad in [
            "postgres://h/db?sslmode=verify-full",
            "postgres://h/db?nonsense=1",
        ] {
            let err = Postgres::parse("EVENT_SINK", bad, None, true).unwrap_err();
            assert_eq!(err.var, "EVENT_SINK");
            assert!(!err.to_string().contains("postgres://h"), "{err}");
        }
        let err = Postgres::parse(
            "UPLOADS_STORE",
            "postgresql://h/db?sslmode=require&sslrootcert=/nonexistent.pem",
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(err.var, "UPLOADS_STORE");
        assert!(err.to_string().contains("sslrootcert"), "{err}");
    }

    #[test]
    fn the_lock_in_the_ddl_is_the_named_one() {
        let key = i64::from_be_bytes(*b"vodgate\0");
        assert!(SCHEMA_SQL.contains(&format!("pg_advisory_xact_lock({key})")));
    }

    #[test]
    fn sslrootcert_is_taken_out_of_the_url() {
        assert_eq!(
            take_param(
                "postgres://h/d?sslmode=require&sslrootcert=%2Fca.pem",
                "sslrootcert"
            ),
            (
                "postgres://h/d?sslmode=require".to_owned(),
                Some("/ca.pem".to_owned())
            )
        );
        assert_eq!(
            take_param("postgres://h/d?sslrootcert=a", "sslrootcert"),
            ("postgres://h/d".to_owned(), Some("a".to_owned()))
        );
        assert_eq!(
            take_param("postgres://h/d", "sslrootcert"),
            ("postgres://h/d".to_owned(), None)
        );
    }
}

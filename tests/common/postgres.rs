//! A throwaway PostgreSQL cluster per test that asks for one (`tests/support/postgres_guard.py`):
//! the real server, started as the `postgres` user on a free port, deleted when the test ends.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use super::root;

/// A running (or stopped, see [`PgCluster::stop`]) cluster.
pub struct PgCluster {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    pub port: u16,
    /// The CA of the server's certificate, when it speaks TLS.
    pub ca: Option<String>,
}

impl PgCluster {
    /// Creates and starts a cluster. Panics with instructions when PostgreSQL is missing: a
    /// missing tool is a failure, never a silent skip.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A cluster that also speaks TLS, with a certificate for `localhost` and `127.0.0.1` from a
    /// CA of its own ([`PgCluster::ca`]).
    pub fn start_tls() -> Self {
        Self::start_with(&["--tls"])
    }

    fn start_with(args: &[&str]) -> Self {
        let mut child = Command::new("python3")
            .arg(root().join("tests/support/postgres_guard.py"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/support/postgres_guard.py");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut cluster = Self {
            child,
            stdin: Some(stdin),
            lines,
            port: 0,
            ca: None,
        };
        let (port, ca) = cluster.expect_ready();
        cluster.port = port;
        cluster.ca = ca;
        cluster
    }

    /// The guard's `ready <port> [<CA path>]` line.
    fn expect_ready(&self) -> (u16, Option<String>) {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(120))
            .expect("PostgreSQL did not start: is it installed? (tests/run installs it)");
        let mut words = line.strip_prefix("ready ").unwrap_or_default().split(' ');
        let port = words
            .next()
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected guard line {line:?}"));
        (port, words.next().map(str::to_owned))
    }

    /// The URL of `database` (plain TCP: the cluster has no certificate).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}?sslmode=disable",
            self.port
        )
    }

    /// A new, empty database; its URL (plain TCP, the server accepts both).
    pub async fn database(&self) -> String {
        let name = format!("t_{:016x}", rand::random::<u64>());
        let (client, connection) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect to the test cluster");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        self.url(&name)
    }

    /// A connection to `url`, for checking what the tests wrote.
    pub async fn client(url: &str) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    }

    /// Stops the server (fast shutdown: connections are cut).
    pub fn stop(&mut self) {
        writeln!(self.stdin.as_mut().unwrap(), "stop").unwrap();
        let line = self.lines.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(line, "stopped");
    }

    /// Starts it again, on the same port, with the same data.
    pub fn restart(&mut self) {
        writeln!(self.stdin.as_mut().unwrap(), "start").unwrap();
        assert_eq!(self.expect_ready().0, self.port);
    }
}

impl Drop for PgCluster {
    /// Closing stdin makes the guard stop the server and delete its directory.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

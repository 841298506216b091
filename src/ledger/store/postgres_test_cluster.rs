//! A private PostgreSQL server for the tests: started once per test process, in a temporary
//! directory, listening on a Unix socket there only (no TCP port), trust authentication.
//!
//! `initdb` and `postgres` are looked up on `PATH`, in `/usr/local/bin` and in
//! `/usr/lib/postgresql/<version>/bin` (Debian). When they are missing the test fails with
//! the way to install them: nothing is skipped. PostgreSQL refuses to run as root, so as
//! root (CI) the server runs as the `postgres` user (the Debian package makes it), or
//! `nobody`, through `setpriv`.
//!
//! Lifecycle: a keeper thread that lives as long as the test process starts a shell that
//! starts the server; the shell gets SIGTERM when that thread dies (`setpriv --pdeathsig`),
//! that is when the test process exits, however it exits. It then stops the server (fast
//! shutdown) and removes the directory. No server outlives `cargo test`.
//!
//! [`Own`] is a second kind: a server of one test's own, which it may stop and start again
//! (a database restart under load); it is stopped and removed when dropped, and gets SIGINT
//! (fast shutdown) if the thread that started it dies first.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How to install PostgreSQL, said whenever it cannot be found or started.
const INSTALL: &str = "the PostgreSQL tests start a private PostgreSQL server and need its \
    programs (initdb, postgres): install them with `apt-get install postgresql` (Debian, \
    Ubuntu), or run `.ci/test`, which installs them when missing and runs the tests";

/// The superuser of the test cluster.
const SUPERUSER: &str = "vouch";

/// The running cluster: its socket directory.
struct Cluster {
    socket_dir: PathBuf,
}

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(start)
}

/// A new, empty database `name` on the test cluster (dropped first if a test of this
/// process made it before), as a `postgres://` URL without a ledger.
pub(crate) fn database(name: &str) -> String {
    // CREATE DATABASE copies template1, which must not be in use: one at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut admin = connect("postgres");
    for sql in [
        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {}", message(&e)));
    }
    url(name)
}

/// A database error's own message.
pub(crate) fn message(e: &postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |d| d.message().to_string())
}

/// The URL of database `name` on the test cluster.
pub(crate) fn url(name: &str) -> String {
    let dir = cluster()
        .socket_dir
        .display()
        .to_string()
        .replace('/', "%2F");
    format!("postgres://{SUPERUSER}@{dir}/{name}")
}

/// A direct connection to database `name` (around the engine).
pub(crate) fn connect(name: &str) -> postgres::Client {
    postgres::Client::connect(&url(name), postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test PostgreSQL server: {e}"))
}

/// The directory of a PostgreSQL program: `PATH`, `/usr/local/bin`, then the newest
/// `/usr/lib/postgresql/<version>/bin`.
fn bin_dir() -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/local/bin".into());
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    debian.sort();
    dirs.extend(debian.into_iter().rev().map(|(_, d)| d));
    dirs.into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
        .unwrap_or_else(|| panic!("PostgreSQL not found (no initdb and postgres on PATH, in /usr/local/bin or /usr/lib/postgresql/*/bin): {INSTALL}"))
}

/// As root: the user the server runs as (uid, gid) — `postgres`, else `nobody`.
fn server_user() -> Option<(u32, u32)> {
    let me = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    if me != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let find = |name: &str| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&name) && f.len() > 3)
                .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
                .flatten()
        })
    };
    Some(
        find("postgres")
            .or_else(|| find("nobody"))
            .unwrap_or((65534, 65534)),
    )
}

/// `program args…`, as the server user when we are root.
fn as_server_user(program: &Path, user: Option<(u32, u32)>) -> Command {
    match user {
        Some((uid, gid)) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Make the directory tree, run `initdb`, start the server, wait until it answers.
fn start() -> Cluster {
    let (bin, user, root, data, socket_dir) = init();
    spawn_server(&bin, user, &root, &data, &socket_dir);
    wait_ready(&root, &socket_dir);
    Cluster { socket_dir }
}

/// A test's own PostgreSQL server, which it can stop and start again; removed when dropped.
/// (Used by the integration tests; the unit tests include this file too.)
#[allow(dead_code)]
pub(crate) struct Own {
    bin: PathBuf,
    user: Option<(u32, u32)>,
    root: PathBuf,
    data: PathBuf,
    sock: PathBuf,
    child: Option<std::process::Child>,
}

#[allow(dead_code)]
impl Own {
    /// initdb and start a server of this test's own.
    pub(crate) fn start() -> Self {
        let (bin, user, root, data, sock) = init();
        let mut own = Own {
            bin,
            user,
            root,
            data,
            sock,
            child: None,
        };
        own.up();
        own
    }

    fn up(&mut self) {
        let mut c = Command::new("setpriv");
        c.args(["--pdeathsig", "INT"]);
        if let Some((uid, gid)) = self.user {
            c.arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups");
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("server.log"))
            .unwrap();
        c.arg("--")
            .arg(self.bin.join("postgres"))
            .arg("-D")
            .arg(&self.data)
            .arg("-k")
            .arg(&self.sock)
            .args(["-c", "listen_addresses=", "-c", "max_connections=100"])
            .args(["-c", "fsync=off", "-c", "shared_buffers=16MB"])
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(
            c.spawn()
                .unwrap_or_else(|e| panic!("starting postgres: {e}: {INSTALL}")),
        );
        wait_ready(&self.root, &self.sock);
    }

    /// Fast shutdown (open transactions are rolled back, connections closed), waited for.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let _ = child.wait();
        }
    }

    /// Stop, wait `down`, start again on the same data directory and socket.
    pub(crate) fn restart(&mut self, down: Duration) {
        self.stop();
        std::thread::sleep(down);
        self.up();
    }

    /// A new, empty database `name` on this server, as a `postgres://` URL.
    pub(crate) fn database(&self, name: &str) -> String {
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("connecting to the test's PostgreSQL server: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {}", message(&e)));
        self.url(name)
    }

    /// The URL of database `name` on this server.
    pub(crate) fn url(&self, name: &str) -> String {
        let dir = self.sock.display().to_string().replace('/', "%2F");
        format!("postgres://{SUPERUSER}@{dir}/{name}")
    }
}

impl Drop for Own {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A new directory tree with an initialised, stopped cluster: (programs, server user,
/// root, data directory, socket directory).
fn init() -> (PathBuf, Option<(u32, u32)>, PathBuf, PathBuf, PathBuf) {
    let bin = bin_dir();
    let user = server_user();
    let root = tempfile::Builder::new()
        .prefix("vouch-pg-")
        .tempdir()
        .expect("temporary directory for PostgreSQL")
        .keep();
    let (data, socket_dir) = (root.join("data"), root.join("sock"));
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    for d in [&data, &socket_dir] {
        std::fs::create_dir(d).unwrap();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(d, Some(uid), Some(gid)).unwrap();
        }
    }
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = as_server_user(&bin.join("initdb"), user)
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("running initdb: {e}: {INSTALL}"));
    assert!(
        out.status.success(),
        "initdb failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (bin, user, root, data, socket_dir)
}

/// The shell that runs the server: it stops it and removes `root` on SIGTERM, which it
/// gets when the keeper thread (this process) ends.
const KEEPER_SH: &str = r#"root=$1; shift
"$@" > "$root/server.log" 2>&1 &
server=$!
trap 'kill -INT $server' TERM INT HUP
wait $server
wait $server
rm -rf "$root""#;

fn spawn_server(bin: &Path, user: Option<(u32, u32)>, root: &Path, data: &Path, sock: &Path) {
    let server = as_server_user(&bin.join("postgres"), user);
    let mut argv: Vec<std::ffi::OsString> = vec![server.get_program().into()];
    argv.extend(server.get_args().map(Into::into));
    argv.extend([
        "-D".into(),
        data.as_os_str().into(),
        "-k".into(),
        sock.as_os_str().into(),
        "-c".into(),
        "listen_addresses=".into(),
        "-c".into(),
        "max_connections=300".into(),
        "-c".into(),
        "fsync=off".into(),
        "-c".into(),
        "shared_buffers=32MB".into(),
    ]);
    let mut keeper = Command::new("setpriv");
    keeper
        .args(["--pdeathsig", "TERM", "--", "sh", "-c", KEEPER_SH, "sh"])
        .arg(root)
        .args(argv)
        .current_dir(root)
        .stdin(Stdio::null());
    let (tx, rx) = std::sync::mpsc::channel();
    // The thread never ends before the process: the server's life is tied to it.
    std::thread::spawn(move || match keeper.spawn() {
        Ok(mut child) => {
            tx.send(Ok(())).ok();
            let _ = child.wait();
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            tx.send(Err(e)).ok();
        }
    });
    if let Ok(Err(e)) = rx.recv() {
        panic!("starting PostgreSQL through setpriv (util-linux): {e}: {INSTALL}");
    }
}

fn wait_ready(root: &Path, sock: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let dir = sock.display().to_string().replace('/', "%2F");
    let url = format!("postgres://{SUPERUSER}@{dir}/postgres");
    loop {
        match postgres::Client::connect(&url, postgres::NoTls) {
            Ok(_) => return,
            Err(e) if Instant::now() > deadline => {
                let log = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
                panic!("the test PostgreSQL server did not start: {e}\n{log}\n{INSTALL}");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

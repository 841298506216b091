//! The networked demo (`vouch demo --serve`): the same story as [`super::run`], told
//! through a `vouch serve` server on loopback, each party in its own directory with its
//! own key, writing through its own replica (`schema/PROTOCOL.md` §7).
//!
//! Layout of the demo directory:
//!
//! - `server/`: the server's data directory (`<ledger id>.db`, the local format);
//! - `provider/`, `customer/`, `auditor/`: one per party, each with `keys/` holding its
//!   own key pair and the others' public keys (exchanged as files, as people would), its
//!   replica `ledger.db` and sidecar `ledger.db.remote`, and the artefact files it records.
//!
//! The provider runs the server (its key is the server's admin key) and founds the ledger
//! with `init --remote`; the customer and the auditor each make a registration request
//! with their own key, which the provider appends, then clone. Every entry of the story
//! is then signed by its party on its replica and sent through
//! [`replica::write_through`]. The entries carry the story's fixed times, as in the local
//! demo, and the demo's server judges ledger time by the story's clock (set to each
//! entry's time before it is sent; a real server uses the wall clock and refuses entries
//! more than 5 minutes from it), while request signatures are judged by the wall clock as
//! always. The server runs in this process, on a thread, until the process ends.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, mpsc};

use super::{PARTIES, Scribe, Summary, demo_key, found_id, summarise, t};
use crate::crypto::{SecretKey, keyfile};
use crate::error::{Error, Result};
use crate::format::payload::{self, Role};
use crate::ledger::{Access, Ledger, NewParty, keys};
use crate::protocol::client::Client;
use crate::protocol::remote::Remote;
use crate::protocol::replica::{self, PullError};

/// The directory of the party with `role` in the networked demo.
pub fn role_dir(role: Role) -> &'static str {
    match role {
        Role::Provider => "provider",
        Role::Customer => "customer",
        _ => "auditor",
    }
}

/// What one party did and holds at the end.
#[derive(Debug)]
pub struct PartyRun {
    /// The party's directory.
    pub dir: PathBuf,
    /// Its replica.
    pub ledger: PathBuf,
    /// Entries it signed (its registration request aside: the provider appends those).
    pub signed: u64,
    /// Writes it sent through its replica (one request each, a batch being one).
    pub writes: u64,
    /// Its replica, summarised as the local demo is.
    pub summary: Summary,
}

/// What the networked demo made.
#[derive(Debug)]
pub struct NetSummary {
    /// The demo directory.
    pub dir: PathBuf,
    /// The server's URL (gone when the process ends).
    pub url: String,
    /// The server's data directory.
    pub server_data: PathBuf,
    /// The ledger id.
    pub ledger_id: String,
    /// Provider, customer, auditor.
    pub parties: Vec<PartyRun>,
}

/// One party of the networked demo.
struct Party {
    id: &'static str,
    dir: PathBuf,
    ledger: PathBuf,
    key: SecretKey,
    client: Option<Client>,
    signed: u64,
    writes: u64,
}

/// Each party writes on its own replica, through the server.
struct Net {
    ledger_id: String,
    parties: Vec<Party>,
    /// The story's clock, which the demo's server judges ledger time by.
    clock: StoryClock,
}

/// The story's clock, shared with the server: set to each entry's time before it is sent
/// (Unix seconds).
type StoryClock = Arc<AtomicI64>;

/// Set the story clock to the time of the newest entry of `l` (the one about to be sent).
fn tick(clock: &StoryClock, l: &Ledger) -> Result<()> {
    if let Some(e) = l.entry(l.size()?)? {
        clock.store(e.header.time.timestamp(), Ordering::SeqCst);
    }
    Ok(())
}

fn pull_error(e: PullError) -> Error {
    match e {
        PullError::Refused(e) | PullError::Failed(e) => e,
    }
}

impl Net {
    fn party(&mut self, id: &str) -> Result<&mut Party> {
        self.parties
            .iter_mut()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::new(format!("internal: no demo party {id}")))
    }
}

impl Scribe for Net {
    fn write<T>(
        &mut self,
        party: &str,
        write: &mut dyn FnMut(&mut Ledger, &SecretKey) -> Result<T>,
    ) -> Result<T> {
        let id = self.ledger_id.clone();
        let clock = Arc::clone(&self.clock);
        let p = self.party(party)?;
        let client = p.client.as_ref().ok_or_else(|| {
            Error::new(format!("internal: demo party {party} has no replica yet"))
        })?;
        let key = &p.key;
        let w = replica::write_through(client, &id, &p.ledger, &mut |file| {
            let mut l = Ledger::open(file, Access::ReadWrite)?;
            let v = write(&mut l, key)?;
            tick(&clock, &l)?;
            Ok(v)
        })
        .map_err(pull_error)?;
        p.signed += w.sent;
        p.writes += u64::from(w.sent > 0);
        Ok(w.value)
    }

    fn artifacts(&self, party: &str) -> PathBuf {
        self.parties
            .iter()
            .find(|p| p.id == party)
            .map_or_else(PathBuf::new, |p| p.dir.join("artifacts"))
    }
}

/// Run the networked demo in `dir` (replacing an earlier networked demo there).
///
/// # Errors
///
/// A directory that holds something else, a server that cannot start, any refusal.
pub fn run(dir: &Path) -> Result<NetSummary> {
    prepare(dir)?;
    let mut parties = party_dirs(dir)?;
    let server_data = dir.join("server");
    std::fs::create_dir_all(&server_data).map_err(|e| Error::io(&server_data, &e))?;
    let clock: StoryClock = Arc::new(AtomicI64::new(0));
    let url = start_server(&server_data, &parties[0].key, &clock)?;
    let ledger_id = found(&url, &mut parties[0], &clock)?;
    let mut net = Net {
        ledger_id,
        parties,
        clock,
    };
    register(&mut net, &url)?;
    let count = super::story(&mut net)?;
    let mut runs = Vec::new();
    for p in net.parties {
        if let Some(c) = &p.client {
            replica::pull(c, &net.ledger_id, &p.ledger).map_err(pull_error)?;
        }
        let keys: Vec<(String, Role, PathBuf, String)> = PARTIES
            .iter()
            .map(|(id, _, role)| {
                let file = if *id == p.id { "key" } else { "pub" };
                (
                    (*id).to_string(),
                    *role,
                    p.dir.join("keys").join(format!("{id}.{file}")),
                    demo_key(id).public().fingerprint().to_string(),
                )
            })
            .collect();
        let summary = summarise(&p.dir, p.ledger.clone(), keys, count)?;
        runs.push(PartyRun {
            dir: p.dir,
            ledger: p.ledger,
            signed: p.signed,
            writes: p.writes,
            summary,
        });
    }
    Ok(NetSummary {
        dir: dir.to_path_buf(),
        url,
        server_data,
        ledger_id: net.ledger_id,
        parties: runs,
    })
}

/// The names a networked demo directory holds.
const LAYOUT: [&str; 4] = ["server", "provider", "customer", "auditor"];

/// Refuse a directory that holds something other than a networked demo; clear an earlier
/// one.
fn prepare(dir: &Path) -> Result<()> {
    let foreign = || {
        Error::new(format!(
            "{} exists and is not a networked vouch demo",
            dir.display()
        ))
        .hint("remove it or choose another place with --dir")
    };
    let names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(dir, &e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(dir, &e)),
    };
    if names.iter().any(|n| !LAYOUT.contains(&n.as_str())) {
        return Err(foreign());
    }
    // An earlier run left the provider's replica and sidecar.
    if !names.is_empty() && !dir.join("provider/ledger.db.remote").is_file() {
        return Err(foreign());
    }
    for n in &names {
        let p = dir.join(n);
        std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, &e))?;
    }
    Ok(())
}

/// Each party's directory with its own key pair and the others' public keys (copied from
/// their directories, as exchanged files).
fn party_dirs(dir: &Path) -> Result<Vec<Party>> {
    let mut parties = Vec::new();
    for (id, _, role) in PARTIES {
        let pdir = dir.join(role_dir(role));
        let files = keyfile::write_key_pair(&pdir.join("keys"), id, &demo_key(id), true)?;
        let art = pdir.join("artifacts");
        std::fs::create_dir_all(&art).map_err(|e| Error::io(&art, &e))?;
        parties.push(Party {
            id,
            ledger: pdir.join("ledger.db"),
            dir: pdir,
            key: keyfile::load_secret(&files.secret)?,
            client: None,
            signed: 0,
            writes: 0,
        });
    }
    for p in &parties {
        for q in parties.iter().filter(|q| q.id != p.id) {
            let from = q.dir.join("keys").join(format!("{}.pub", q.id));
            let to = p.dir.join("keys").join(format!("{}.pub", q.id));
            std::fs::copy(&from, &to).map_err(|e| Error::io(&to, &e))?;
        }
    }
    Ok(parties)
}

/// Start the server on a loopback port chosen by the system, on a thread; its admin is
/// `admin` (the provider, who hosts it). Returns its URL once it listens.
fn start_server(data: &Path, admin: &SecretKey, clock: &StoryClock) -> Result<String> {
    let story = Arc::clone(clock);
    let config = crate::server::Config {
        hosting: crate::server::Hosting::Directory(data.to_path_buf()),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        tls: None,
        admins: vec![admin.public()],
        public_url: None,
        key: None,
        ledger_clock: Some(Arc::new(move || {
            chrono::DateTime::from_timestamp(story.load(Ordering::SeqCst), 0)
                .unwrap_or_else(crate::clock::now)
        })),
    };
    let (tx, rx) = mpsc::channel();
    let log: crate::server::Log = Arc::new(|_: &str| {});
    let handle = std::thread::Builder::new()
        .name("vouch-demo-server".into())
        .spawn(move || {
            crate::server::serve(
                config,
                |ready| {
                    let _ = tx.send(ready.url.clone());
                },
                log,
            )
        })
        .map_err(|e| Error::new(format!("cannot start the demo's server: {e}")))?;
    match rx.recv() {
        Ok(url) => Ok(url),
        Err(_) => Err(match handle.join() {
            Ok(Err(e)) => e,
            _ => Error::new("the demo's server stopped before it listened"),
        }),
    }
}

/// A remote of the demo's server for the key file of `p`.
fn remote_of(url: &str, ledger: &str, p: &Party) -> Result<Remote> {
    Ok(Remote {
        url: url.to_string(),
        ledger: ledger.to_string(),
        key: crate::protocol::remote::absolute(&p.dir.join("keys").join(format!("{}.key", p.id)))?,
        ca: None,
    })
}

/// The provider founds the ledger on the server (`vouch init --remote`): its genesis entry
/// signed in its directory, its file the first replica. Returns the ledger id.
fn found(url: &str, provider: &mut Party, clock: &StoryClock) -> Result<String> {
    let remote = remote_of(url, "", provider)?;
    let client = remote.client(None)?;
    let (name, role) = (PARTIES[0].1, PARTIES[0].2);
    let at = t("2026-07-01T08:00:00Z")?;
    clock.store(at.timestamp(), Ordering::SeqCst);
    let key = &provider.key;
    let (_, remote) = replica::init_remote(&client, remote, &provider.ledger, |tmp| {
        let founder = NewParty {
            id: provider.id.into(),
            name: name.into(),
            role,
        };
        Ledger::init(tmp, found_id(), &founder, key, at).map(|_| ())
    })?;
    provider.client = Some(client);
    provider.signed = 1;
    provider.writes = 1;
    Ok(remote.ledger)
}

/// The customer and the auditor each write a registration request with their own key
/// (`vouch party request`); the provider appends them (`vouch party add --request`); then
/// each clones the ledger (`vouch clone`).
fn register(net: &mut Net, url: &str) -> Result<()> {
    let lid = crate::format::entry::LedgerId::parse(&net.ledger_id)
        .ok_or_else(|| Error::new("internal: bad demo ledger id"))?;
    let at = t("2026-07-01T08:05:00Z")?;
    for (id, name, role) in &PARTIES[1..] {
        let p = net.party(id)?;
        let party = NewParty {
            id: (*id).into(),
            name: (*name).into(),
            role: *role,
        };
        let file = p.dir.join(format!("{id}.request.json"));
        let mut bytes = payload::encode(&keys::party_request(&lid, &party, &p.key)?)?;
        bytes.push(b'\n');
        std::fs::write(&file, &bytes).map_err(|e| Error::io(&file, &e))?;
        // The provider receives the file and appends it.
        let text = std::fs::read(&file).map_err(|e| Error::io(&file, &e))?;
        let request: payload::PartyPayload =
            payload::decode(text.strip_suffix(b"\n").unwrap_or(&text))
                .map_err(|e| Error::new(format!("{}: {e}", file.display())))?;
        net.write("cloudtemple", &mut |l, k| l.register(&request, k, at))?;
    }
    let lid = net.ledger_id.clone();
    for (id, ..) in &PARTIES[1..] {
        let p = net.party(id)?;
        let remote = remote_of(url, &lid, p)?;
        let client = remote.client(None)?;
        replica::clone(&client, &remote, &p.ledger).map_err(pull_error)?;
        p.client = Some(client);
    }
    Ok(())
}

//! Replicas (`schema/PROTOCOL.md` §7): `vouch clone`, `pull`, `push`, `remote`, and the
//! write-through that every writing command takes on a replica.

use serde_json::json;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use super::args::Format;
use super::output::{Outcome, captured, print_json};
use vouch::crypto::keyfile;
use vouch::ledger::extend::Head;
use vouch::protocol::remote::{self, Remote};
use vouch::protocol::replica::{self, PullError};
use vouch::{Error, Result};

/// A `--key` argument (a file, or NAME for keys/NAME.key) as an absolute path.
pub(super) fn key_path(arg: &str) -> Result<PathBuf> {
    remote::absolute(&keyfile::resolve_key_path(arg))
}

/// The remote of the replica `ledger`, or an error saying it is a local ledger.
fn remote_of(ledger: &Path) -> Result<Remote> {
    Remote::load(ledger)?.ok_or_else(|| {
        Error::new(format!(
            "{} is a local ledger, not a replica (no {})",
            ledger.display(),
            remote::sidecar(ledger).display()
        ))
        .hint("make a replica with vouch clone URL/ID, or vouch push URL to share this one")
    })
}

/// Report a refused pull (exit 1) or fail (exit 2).
fn pull_failed(e: PullError) -> Result<Outcome> {
    match e {
        PullError::Refused(e) => {
            eprintln!("vouch: error: {}", e.message());
            if let Some(h) = e.hint_text() {
                eprintln!("vouch: hint: {h}");
            }
            Ok(Outcome::Problem)
        }
        PullError::Failed(e) => Err(e),
    }
}

fn head_json(h: Head) -> serde_json::Value {
    json!({"seq": h.seq, "hash": hex::encode(h.hash)})
}

/// `vouch clone URL/ID --key K [--ca F]` into `ledger`.
pub(super) fn clone(
    ledger: &Path,
    url_id: &str,
    key: &str,
    ca: Option<PathBuf>,
    fmt: Format,
) -> Result<Outcome> {
    let (url, id) = remote::split_url(url_id)?;
    let ca = ca.map(|c| remote::absolute(&c)).transpose()?;
    let r = Remote {
        url,
        ledger: id,
        key: key_path(key)?,
        ca,
    };
    let client = r.client(None)?;
    let head = match replica::clone(&client, &r, ledger) {
        Ok(h) => h,
        Err(e) => return pull_failed(e),
    };
    if fmt == Format::Json {
        print_json(
            &json!({"ledger": ledger, "ledger_id": r.ledger, "url": r.url, "head": head_json(head)}),
        );
    } else {
        out!(
            "cloned ledger {} from {} into {} (entries 1–{}, verified)",
            r.ledger,
            r.url,
            ledger.display(),
            head.seq
        );
    }
    Ok(Outcome::Ok)
}

/// `vouch pull [--key K]`.
pub(super) fn pull(ledger: &Path, key: Option<&str>, fmt: Format) -> Result<Outcome> {
    let r = remote_of(ledger)?;
    let key = key.map(key_path).transpose()?;
    let client = r.client(key.as_deref())?;
    let p = match replica::pull(&client, &r.ledger, ledger) {
        Ok(p) => p,
        Err(e) => return pull_failed(e),
    };
    if fmt == Format::Json {
        print_json(&json!({"from": head_json(p.from), "to": head_json(p.to)}));
    } else if p.from == p.to {
        out!(
            "up to date: entry {} ({})",
            p.to.seq,
            hex::encode(p.to.hash)
        );
    } else {
        out!(
            "pulled entries {}–{} from {} (verified); head entry {} ({})",
            p.from.seq + 1,
            p.to.seq,
            r.url,
            p.to.seq,
            hex::encode(p.to.hash)
        );
    }
    Ok(Outcome::Ok)
}

/// `vouch push URL --key K [--ca F]`.
pub(super) fn push(
    ledger: &Path,
    url: &str,
    key: &str,
    ca: Option<PathBuf>,
    fmt: Format,
) -> Result<Outcome> {
    let id = vouch::ledger::Ledger::open(ledger, vouch::ledger::Access::ReadOnly)?
        .id()?
        .to_string();
    let r = Remote {
        url: url.trim_end_matches('/').to_string(),
        ledger: id,
        key: key_path(key)?,
        ca: ca.map(|c| remote::absolute(&c)).transpose()?,
    };
    let client = r.client(None)?;
    let done = replica::push(&client, &r, ledger)?;
    if fmt == Format::Json {
        print_json(
            &json!({"ledger": ledger, "ledger_id": r.ledger, "url": r.url, "head": head_json(done.head)}),
        );
    } else {
        out!(
            "pushed {} to {}/{} (entries 1–{}); the file is now its replica",
            ledger.display(),
            r.url,
            r.ledger,
            done.head.seq
        );
    }
    Ok(Outcome::Ok)
}

/// `vouch remote`.
pub(super) fn show(ledger: &Path, fmt: Format) -> Result<Outcome> {
    let r = remote_of(ledger)?;
    let mine = replica::local_head(ledger)?;
    let theirs = r.client(None).and_then(|c| Ok(c.head(&r.ledger)?));
    if fmt == Format::Json {
        let server = match &theirs {
            Ok(h) => json!({"head": head_json(*h)}),
            Err(e) => json!({"error": e.message()}),
        };
        print_json(
            &json!({"url": r.url, "ledger_id": r.ledger, "key": r.key, "ca": r.ca,
            "replica": {"head": head_json(mine)}, "server": server}),
        );
        return Ok(Outcome::Ok);
    }
    out!("url:     {}", r.url);
    out!("ledger:  {}", r.ledger);
    out!("key:     {}", r.key.display());
    if let Some(ca) = &r.ca {
        out!("ca:      {}", ca.display());
    }
    out!("replica: entry {} ({})", mine.seq, hex::encode(mine.hash));
    match theirs {
        Ok(h) if h == mine => out!("server:  entry {} (up to date)", h.seq),
        Ok(h) if h.seq > mine.seq => out!(
            "server:  entry {} ({} new: vouch pull)",
            h.seq,
            h.seq - mine.seq
        ),
        Ok(h) => out!(
            "server:  entry {} ({}): not this replica's history; vouch pull tells more",
            h.seq,
            hex::encode(h.hash)
        ),
        Err(e) => out!("server:  not reachable ({})", e.message()),
    }
    Ok(Outcome::Ok)
}

/// Run a writing command on the replica `ledger` through its remote: `run` runs the
/// command on a ledger file (a temporary copy of the replica), possibly more than once;
/// what the landing attempt printed is printed, naming the replica.
pub(super) fn write_through(
    ledger: &Path,
    remote: &Remote,
    run: &mut dyn FnMut(&Path) -> Result<Outcome>,
) -> Result<Outcome> {
    let client = remote.client(None)?;
    let mut printed = String::new();
    let mut attempt = |tmp: &Path| {
        let (out, text) = captured(|| run(tmp));
        printed = text;
        out
    };
    let written = match replica::write_through(&client, &remote.ledger, ledger, &mut attempt) {
        Ok(w) => w,
        Err(e) => return pull_failed(e),
    };
    let text = printed.replace(
        &written.ran_on.display().to_string(),
        &ledger.display().to_string(),
    );
    if io::stdout().lock().write_all(text.as_bytes()).is_err() {
        std::process::exit(0);
    }
    Ok(written.value)
}

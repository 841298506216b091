//! `vouch serve`: run the sharing server (`schema/PROTOCOL.md`) until SIGTERM or ctrl-c, or
//! move ledger files into its database (`--import`).

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;

use super::args::ServeArgs;
use super::output::Outcome;
use vouch::crypto::SecretKey;
use vouch::crypto::keyfile::{load_public, load_secret};
use vouch::format::entry::LedgerId;
use vouch::server::{self, Config, Hosting, Imported};
use vouch::{Error, Result};

/// `vouch serve --show-key`: the server key's fingerprint and public key, and the verifier
/// keys of each ledger in `--data` (`schema/PROTOCOL.md` §11.1).
fn show_key(args: &ServeArgs, key: &SecretKey) -> Result<Outcome> {
    let pk = key.public();
    out!("fingerprint {}", pk.fingerprint());
    out!("public-key {}", pk.spki_base64());
    if let Some(dir) = &args.data {
        let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, &e))?;
        let mut ids: Vec<LedgerId> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".db").and_then(LedgerId::parse)
            })
            .collect();
        ids.sort_by_key(|i| i.to_string());
        for id in ids {
            out!("vkey {}", server::witness::log_verifier(&id, &pk));
            let clock = server::witness::clock_cosigner(&id, &pk)?;
            out!("clock-vkey {clock}");
        }
    }
    Ok(Outcome::Ok)
}

/// Run `vouch serve`.
pub(crate) fn serve(args: &ServeArgs) -> Result<Outcome> {
    let key = match &args.key {
        Some(p) => Some(load_secret(p).map_err(|e| e.context("--key"))?),
        None => None,
    };
    if args.show_key {
        let Some(key) = &key else {
            return Err(Error::new("--show-key needs --key FILE.key"));
        };
        return show_key(args, key);
    }
    let hosting = match (&args.data, &args.database) {
        (Some(d), None) => Hosting::Directory(d.clone()),
        (None, Some(url)) => Hosting::Database(url.clone()),
        _ => {
            return Err(Error::new("give one of --data DIR and --database URL")
                .hint("--data: ledger files in a directory; --database: every ledger in one PostgreSQL database (also VOUCH_DATABASE_URL)"));
        }
    };
    if let (Some(dir), Hosting::Database(url)) = (&args.import, &hosting) {
        return import(url, dir);
    }
    if key.is_some() && matches!(hosting, Hosting::Database(_)) {
        return Err(Error::new(
            "--key with --database: the server's checkpoints and cosignatures are kept beside ledger files, not yet in PostgreSQL",
        )
        .hint("serve with --data DIR to sign receipts, or without --key"));
    }
    let listen: SocketAddr = args.listen.parse().map_err(|_| {
        Error::new(format!(
            "--listen {:?}: not an address and port",
            args.listen
        ))
        .hint("for example --listen 127.0.0.1:7878 or --listen [::1]:7878")
    })?;
    let admins = args
        .admin
        .iter()
        .map(|p| load_public(p).map_err(|e| e.context("--admin")))
        .collect::<Result<Vec<_>>>()?;
    let fingerprint = key.as_ref().map(|k| k.public().fingerprint().to_string());
    let shown = hosting.shown();
    let what = match &hosting {
        Hosting::Directory(_) => "data",
        Hosting::Database(_) => "database",
    };
    let config = Config {
        hosting,
        listen,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        admins,
        public_url: args.public_url.clone(),
        key: key.map(Arc::new),
        ledger_clock: None,
    };
    let log: server::Log = Arc::new(|line: &str| {
        let _ = writeln!(io::stderr().lock(), "vouch serve: {line}");
    });
    server::serve(
        config,
        |ready| {
            out!(
                "vouch serve: listening on {} ({what} {shown}, {} ledger{}, {})",
                ready.url,
                ready.ledgers,
                if ready.ledgers == 1 { "" } else { "s" },
                fingerprint.as_deref().map_or_else(
                    || "no --key: no receipts".to_string(),
                    |f| format!("receipts signed by key {f}")
                )
            );
        },
        log,
    )?;
    Ok(Outcome::Ok)
}

/// `vouch serve --database URL --import DIR`: one line per ledger, then the counts.
fn import(url: &str, dir: &std::path::Path) -> Result<Outcome> {
    let (moved, skipped, refused) = server::import(url, dir, &mut |i| match i {
        Imported::Moved {
            id,
            entries,
            artifacts,
        } => out!("imported {id}: {entries} entries, {artifacts} stored artefacts"),
        Imported::Exists { id } => out!("skipped {id}: the database has it already"),
        Imported::Refused { id, error } => {
            out!("refused {id}: {}", error.message());
            if let Some(h) = error.hint_text() {
                out!("  hint: {h}");
            }
        }
    })?;
    out!("{moved} imported, {skipped} skipped (already there), {refused} refused");
    Ok(if refused > 0 {
        Outcome::Problem
    } else {
        Outcome::Ok
    })
}

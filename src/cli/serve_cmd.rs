//! `vouch serve`: run the sharing server (`schema/PROTOCOL.md`) until SIGTERM or ctrl-c, or
//! move ledger files into its database (`--import`).

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;

use super::args::ServeArgs;
use super::output::Outcome;
use vouch::crypto::keyfile::load_public;
use vouch::server::{self, Config, Hosting, Imported};
use vouch::{Error, Result};

/// Run `vouch serve`.
pub(crate) fn serve(args: &ServeArgs) -> Result<Outcome> {
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
    };
    let log: server::Log = Arc::new(|line: &str| {
        let _ = writeln!(io::stderr().lock(), "vouch serve: {line}");
    });
    server::serve(
        config,
        |ready| {
            out!(
                "vouch serve: listening on {} ({what} {shown}, {} ledger{})",
                ready.url,
                ready.ledgers,
                if ready.ledgers == 1 { "" } else { "s" }
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

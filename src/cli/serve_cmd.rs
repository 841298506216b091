//! `vouch serve`: run the sharing server (`schema/PROTOCOL.md`) until SIGTERM or ctrl-c.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;

use super::args::ServeArgs;
use super::output::Outcome;
use vouch::crypto::keyfile::load_public;
use vouch::server::{self, Config};
use vouch::{Error, Result};

/// Run `vouch serve`.
pub(crate) fn serve(args: &ServeArgs) -> Result<Outcome> {
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
    let config = Config {
        data: args.data.clone(),
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
                "vouch serve: listening on {} (data {}, {} ledger{})",
                ready.url,
                args.data.display(),
                ready.ledgers,
                if ready.ledgers == 1 { "" } else { "s" }
            );
        },
        log,
    )?;
    Ok(Outcome::Ok)
}

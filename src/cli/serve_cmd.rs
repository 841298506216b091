//! `vouch serve`: run the sharing server (`schema/PROTOCOL.md`) until SIGTERM or ctrl-c.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::Arc;

use super::args::ServeArgs;
use super::output::Outcome;
use vouch::crypto::SecretKey;
use vouch::crypto::keyfile::{load_public, load_secret};
use vouch::format::entry::LedgerId;
use vouch::server::{self, Config};
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
    let Some(data) = args.data.clone() else {
        return Err(Error::new("--data DIR is needed").hint("vouch serve --data DIR"));
    };
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
    let config = Config {
        data: data.clone(),
        listen,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        admins,
        public_url: args.public_url.clone(),
        key: key.map(Arc::new),
    };
    let log: server::Log = Arc::new(|line: &str| {
        let _ = writeln!(io::stderr().lock(), "vouch serve: {line}");
    });
    server::serve(
        config,
        |ready| {
            out!(
                "vouch serve: listening on {} (data {}, {} ledger{}, {})",
                ready.url,
                data.display(),
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

//! The accept loop: one task per connection (an idle or slow connection holds nothing but
//! its task), TLS through rustls with the ring provider, the header timeout and size limit
//! of `schema/PROTOCOL.md` §2, and a graceful shutdown on SIGTERM or ctrl-c (connections
//! finish their request, for at most 10 s).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::Log;
use super::body::{HEADER_TIMEOUT, MAX_HEADERS};
use crate::error::{Error, Result};

/// Longest TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Longest wait for open requests at shutdown.
const DRAIN: Duration = Duration::from_secs(10);

/// The TLS configuration from a PEM certificate chain and private key.
pub(super) fn tls_config(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| Error::new(format!("--tls-cert {}: {e}", cert.display())))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::new(format!("--tls-cert {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(Error::new(format!(
            "--tls-cert {}: no certificate in the file",
            cert.display()
        ))
        .hint("give the PEM certificate chain, the server's certificate first"));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| Error::new(format!("--tls-key {}: {e}", key.display())))?;
    // ring, not aws-lc-rs (which needs cmake to build); rustls 0.23.48 deprecates ring's
    // provider only for lacking post-quantum key exchange.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            Error::new(format!("--tls-cert/--tls-key: {e}"))
                .hint("the key must be the certificate's private key (PEM)")
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Resolves on SIGTERM or ctrl-c.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Serve one connection over `io`.
async fn drive<I>(io: I, router: axum::Router, watcher: hyper_util::server::graceful::Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADERS.max(8192));
    let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(router));
    let _ = watcher.watch(conn).await;
}

/// Accept connections until the shutdown signal, then let open requests finish.
pub(super) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: axum::Router,
    log: Log,
) {
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                // Out of file descriptors and the like: wait a little, keep serving.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let router = router.clone();
        let watcher = graceful.watcher();
        match &tls {
            None => {
                tokio::spawn(drive(stream, router, watcher));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(s)) =
                        tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await
                    {
                        drive(s, router, watcher).await;
                    }
                });
            }
        }
    }
    log("shutting down");
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(DRAIN) => {},
    }
}

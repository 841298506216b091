//! The sharing protocol of `vouch serve` (`schema/PROTOCOL.md`): the parts that are pure
//! functions of bytes, so that the server, the client and the tests share one implementation.
//!
//! - [`http_sig`]: request authentication, HTTP Message Signatures (RFC 9421) with Ed25519
//!   over `@method`, `@target-uri` and `content-digest` (RFC 9530), `PROTOCOL.md` §3.
//! - [`remote`] and [`replica`]: replicas (`PROTOCOL.md` §7): the sidecar naming a
//!   replica's remote, and clone, pull, push and writing through the remote.
//! - [`replay`]: the (`keyid`, `nonce`) replay cache that §3's ±300 s window bounds.

pub mod client;
pub mod http_sig;
pub mod remote;
pub mod replay;
pub mod replica;

//! The replay cache of request authentication (`schema/PROTOCOL.md` §3).
//!
//! A signed request is accepted at most once: after its signature verified, its
//! (`keyid`, `nonce`) pair is recorded, and a second request with the same pair is refused
//! while the first could still be accepted. A request is only accepted while its `created`
//! is within [`WINDOW_SECS`](super::http_sig::WINDOW_SECS) of the server's clock, so an entry
//! can be forgotten once `created + WINDOW_SECS` has passed: the same signed bytes would then
//! be refused by the window check instead. The cache is bounded: when it is full of entries
//! that are still live, new requests are refused ([`AuthError::ReplayCacheFull`], a 503)
//! rather than an entry being forgotten early (which would let that request be replayed).

use std::collections::{BTreeSet, HashMap};

use super::http_sig::{AuthError, WINDOW_SECS};
use crate::crypto::Fingerprint;

/// Where verified (`keyid`, `nonce`) pairs are remembered. A server shares one across
/// connections (behind a mutex) and across ledgers: a nonce is fresh per key, not per ledger.
pub trait NonceCache {
    /// Record the pair of a request whose signature verified, `created` being its signed
    /// creation time and `now` the server's clock (Unix seconds). Refuse it with
    /// [`AuthError::Replayed`] if the pair is already recorded and not yet expired.
    fn check_and_record(
        &mut self,
        keyid: &Fingerprint,
        nonce: &str,
        created: i64,
        now: i64,
    ) -> Result<(), AuthError>;
}

/// An in-memory [`NonceCache`] holding at most `capacity` live pairs.
#[derive(Debug)]
pub struct MemoryNonces {
    capacity: usize,
    /// Pair → the last second at which a request carrying it could still be accepted.
    live: HashMap<(Fingerprint, String), i64>,
    /// The same entries ordered by that second, to expire the oldest first.
    by_expiry: BTreeSet<(i64, Fingerprint, String)>,
}

impl MemoryNonces {
    /// The default bound: 100,000 requests in any ten-minute span (about 15 MB).
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty cache holding at most `capacity` live pairs.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            live: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// How many pairs are remembered (expired ones are dropped on the next call of
    /// [`NonceCache::check_and_record`]).
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Forget every pair that no request could carry any more at `now`.
    fn expire(&mut self, now: i64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 >= now {
                break;
            }
            if let Some((_, keyid, nonce)) = self.by_expiry.pop_first() {
                self.live.remove(&(keyid, nonce));
            }
        }
    }
}

impl Default for MemoryNonces {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY)
    }
}

impl NonceCache for MemoryNonces {
    fn check_and_record(
        &mut self,
        keyid: &Fingerprint,
        nonce: &str,
        created: i64,
        now: i64,
    ) -> Result<(), AuthError> {
        self.expire(now);
        let key = (*keyid, nonce.to_string());
        if self.live.contains_key(&key) {
            return Err(AuthError::Replayed {
                keyid: *keyid,
                nonce: nonce.to_string(),
            });
        }
        if self.live.len() >= self.capacity {
            return Err(AuthError::ReplayCacheFull);
        }
        let until = created.saturating_add(WINDOW_SECS);
        self.live.insert(key, until);
        self.by_expiry.insert((until, *keyid, nonce.to_string()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(b: u8) -> Fingerprint {
        Fingerprint([b; 32])
    }

    #[test]
    fn a_pair_is_refused_while_live_and_forgotten_after() {
        let mut c = MemoryNonces::new(10);
        c.check_and_record(&fp(1), "nonce-aaaaaaaaaaaa", 1000, 1000)
            .unwrap();
        let again = c.check_and_record(&fp(1), "nonce-aaaaaaaaaaaa", 1000, 1000 + WINDOW_SECS);
        assert!(
            matches!(again, Err(AuthError::Replayed { .. })),
            "{again:?}"
        );
        // Same nonce, other key: a different pair.
        c.check_and_record(&fp(2), "nonce-aaaaaaaaaaaa", 1000, 1001)
            .unwrap();
        assert_eq!(c.len(), 2);
        // One second after the window closed, both are gone.
        c.check_and_record(&fp(3), "nonce-bbbbbbbbbbbb", 1400, 1000 + WINDOW_SECS + 1)
            .unwrap();
        assert_eq!(c.len(), 1);
        c.check_and_record(&fp(1), "nonce-aaaaaaaaaaaa", 1301, 1301)
            .unwrap();
    }

    #[test]
    fn a_full_cache_refuses_instead_of_forgetting() {
        let mut c = MemoryNonces::new(2);
        c.check_and_record(&fp(1), "n1-aaaaaaaaaaaaaa", 1000, 1000)
            .unwrap();
        c.check_and_record(&fp(1), "n2-aaaaaaaaaaaaaa", 1000, 1000)
            .unwrap();
        let full = c.check_and_record(&fp(1), "n3-aaaaaaaaaaaaaa", 1000, 1000);
        assert!(matches!(full, Err(AuthError::ReplayCacheFull)), "{full:?}");
        // The first two are still refused: nothing was evicted.
        assert!(
            c.check_and_record(&fp(1), "n1-aaaaaaaaaaaaaa", 1000, 1000)
                .is_err()
        );
        // Once they expire there is room again.
        c.check_and_record(&fp(1), "n3-aaaaaaaaaaaaaa", 1400, 1400)
            .unwrap();
        assert_eq!(c.len(), 1);
    }
}

//! The host witnessed (schema/PROTOCOL.md §11), over loopback with the real `vouch serve`:
//! receipts signed by the server's key, parties cosigning the server's checkpoints
//! (tlog-witness add-checkpoint), the server's clock bounding ledger time, and the ledger's
//! C2SP tlog-tiles read over HTTP by Cloudflare's `tlog_tiles` crate.

use std::cell::Cell;
use std::path::Path;

use chrono::{Duration, Utc};
use tlog_tiles::{
    Hash, TileHashReader, TileReader, check_record, check_tree, prove_record, prove_tree,
    record_hash,
};
use vouch::crypto::SecretKey;
use vouch::crypto::keyfile::{load_public, load_secret};
use vouch::format::checkpoint::{Checkpoint, Note, Verifier};
use vouch::format::cosignature::{self, AddCheckpoint, Cosigner, cosigner_name};
use vouch::format::entry::LedgerId;
use vouch::format::payload::Role;
use vouch::ledger::{Access, Ledger, NewParty};
use vouch::protocol::client::{Client, Cosigned};

use crate::serve::{head_of, lines_of};
use crate::served::Server;
use crate::util::Env;

/// The ledger id of a ledger file.
fn ledger_id(db: &Path) -> LedgerId {
    let text = String::from_utf8(lines_of(db)[0].body.clone()).unwrap();
    LedgerId::parse(
        text.lines()
            .find_map(|x| x.strip_prefix("ledger: "))
            .unwrap(),
    )
    .unwrap()
}

/// The server's verifier key of `id`, read from `vouch serve --show-key`, whose
/// fingerprint line is the key file's.
fn pinned(env: &Env, id: &LedgerId) -> Verifier {
    let out = env
        .ok(&[
            "serve",
            "--show-key",
            "--key",
            "keys/server.key",
            "--data",
            "srv",
        ])
        .stdout;
    let fp = load_public(&env.p("keys/server.pub"))
        .unwrap()
        .fingerprint();
    assert!(out.starts_with(&format!("fingerprint {fp}\n")), "{out}");
    let vkey = out
        .lines()
        .filter_map(|l| l.strip_prefix("vkey "))
        .find(|v| v.starts_with(&format!("vouch.ledger/{id}+")))
        .unwrap_or_else(|| panic!("no vkey for {id}: {out}"));
    Verifier::parse(vkey).unwrap()
}

/// Check a receipt: signed by the server key, of `size` entries with the local ledger's
/// root, and stamped by the server's clock within a minute of ours.
fn check_receipt(receipt: &str, server: &Verifier, local: &Path, size: u64) -> Checkpoint {
    let note = Note::parse(receipt).unwrap();
    note.verify(std::slice::from_ref(server)).unwrap();
    let cp = Checkpoint::from_note(&note).unwrap();
    assert_eq!(cp.size, size);
    let l = Ledger::open(local, Access::ReadOnly).unwrap();
    assert_eq!(cp.root, l.merkle_root(size).unwrap(), "the receipt's root");
    let clock = Cosigner::from_public(server.name(), server.key()).unwrap();
    let line = note.signatures.iter().find(|s| clock.matches(s)).unwrap();
    let t = clock.verify(&note.text, line).unwrap();
    assert!((Utc::now() - t).num_seconds().abs() < 60, "{t}");
    cp
}

/// Receipts on every write, the checkpoint with the parties' cosignatures, and the
/// refusals of add-checkpoint: a wrong old size (409 with the size on record), a
/// cosignature by an unregistered key or under another party's name (403), a forged one
/// (422). The ledger file stays exactly the local format.
#[test]
fn receipts_and_cosignatures() {
    let env = Env::two_parties();
    for k in ["auditor", "third", "ops", "server", "stranger"] {
        env.ok(&["keygen", k]);
    }
    for (party, role, key) in [
        ("audit", "auditor", "auditor"),
        ("tp", "third-party", "third"),
    ] {
        env.ok(&[
            "party",
            "add",
            party,
            "--name",
            party,
            "--role",
            role,
            "--new-key",
            &format!("keys/{key}.key"),
            "--key",
            "keys/provider.key",
        ]);
    }
    let local = env.p("ledger.db");
    let lines = lines_of(&local);
    assert_eq!(lines.len(), 4);
    let id = ledger_id(&local);
    let srv = Server::start(
        &env,
        "srv",
        &["--admin", "keys/ops.pub", "--key", "keys/server.key"],
    );
    let (admin, provider, customer) = (
        srv.client(&env, "ops"),
        srv.client(&env, "provider"),
        srv.client(&env, "customer"),
    );
    let created = admin.create_ledger(&lines[0]).unwrap();
    let server = pinned(&env, &id);
    check_receipt(created.receipt.as_deref().unwrap(), &server, &local, 1);
    let id = id.to_string();
    let a = provider
        .append(&id, head_of(&lines[0]), &lines[1..3])
        .unwrap();
    assert_eq!(a.head, head_of(&lines[2]));
    let receipt = a.receipt.unwrap();
    let cp3 = check_receipt(&receipt, &server, &local, 3);
    assert_eq!(customer.checkpoint(&id).unwrap(), receipt);

    // The customer witnesses the server: cosigns size 3 (nothing cosigned before).
    let lid = LedgerId::parse(&id).unwrap();
    let name = cosigner_name(&lid, "acme");
    let ckey = load_secret(&env.p("keys/customer.key")).unwrap();
    let w = customer
        .witness(
            &id,
            None,
            std::slice::from_ref(&server),
            &name,
            &ckey,
            Utc::now(),
        )
        .unwrap();
    assert_eq!(w.checkpoint, cp3);
    let served = customer.checkpoint(&id).unwrap();
    assert_eq!(served, w.served);
    let note = Note::parse(&served).unwrap();
    assert_eq!(note.signatures.len(), 3, "{served}");
    let acme = Cosigner::from_public(&name, &ckey.public()).unwrap();
    let line = note.signatures.iter().find(|s| acme.matches(s)).unwrap();
    acme.verify(&note.text, line).unwrap();
    note.verify(std::slice::from_ref(&server)).unwrap();

    // The next append makes a new checkpoint; witnessing it proves consistency 3 → 4.
    let b = provider
        .append(&id, head_of(&lines[2]), &lines[3..4])
        .unwrap();
    let cp4 = check_receipt(b.receipt.as_deref().unwrap(), &server, &local, 4);
    let w4 = customer
        .witness(
            &id,
            Some(&cp3),
            std::slice::from_ref(&server),
            &name,
            &ckey,
            Utc::now(),
        )
        .unwrap();
    assert_eq!(w4.checkpoint, cp4);

    // Add-checkpoint requests made by hand, on the newest checkpoint (cosigned at another
    // second than the witnessing above, so their lines are new).
    let at = Utc::now() - Duration::seconds(30);
    let newest = Note::parse(&customer.checkpoint(&id).unwrap()).unwrap();
    let bare = Note {
        text: newest.text.clone(),
        signatures: newest.signatures[..2].to_vec(),
    };
    let with = |key: &SecretKey, name: &str, old: u64| {
        let mut note = bare.clone();
        note.add_signature(cosignature::cosign(&note.text, name, key, at).unwrap())
            .unwrap();
        AddCheckpoint {
            old,
            proof: vec![],
            note,
        }
    };
    // The auditor never cosigned: old 1 is wrong, the server has 0 on record (409).
    let akey = load_secret(&env.p("keys/auditor.key")).unwrap();
    let aname = cosigner_name(&lid, "audit");
    let auditor = srv.client(&env, "auditor");
    assert_eq!(
        auditor
            .post_cosignature(&id, &with(&akey, &aname, 1))
            .unwrap(),
        Cosigned::Conflict(0)
    );
    // The customer cosigned size 4: old 3 is wrong now.
    assert_eq!(
        customer
            .post_cosignature(&id, &with(&ckey, &name, 3))
            .unwrap(),
        Cosigned::Conflict(4)
    );
    // An unregistered key, and a registered key under another party's name: 403.
    let skey = load_secret(&env.p("keys/stranger.key")).unwrap();
    let e = customer
        .post_cosignature(&id, &with(&skey, &name, 4))
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e:?}");
    let msg = vouch::Error::from(e).message().to_string();
    assert!(msg.contains("not by a valid key registered"), "{msg}");
    let e = customer
        .post_cosignature(&id, &with(&ckey, &aname, 0))
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e:?}");
    // A forged cosignature by a registered key: 422.
    let mut forged = with(&akey, &aname, 0);
    let last = forged.note.signatures.last_mut().unwrap();
    last.signature[20] ^= 1;
    let e = auditor.post_cosignature(&id, &forged).unwrap_err();
    assert_eq!(e.status(), 422, "{e:?}");
    // None of the refusals was stored; the auditor's own first cosignature is.
    assert_eq!(
        Note::parse(&customer.checkpoint(&id).unwrap())
            .unwrap()
            .signatures
            .len(),
        3
    );
    match auditor
        .post_cosignature(&id, &with(&akey, &aname, 0))
        .unwrap()
    {
        Cosigned::Stored(text) => {
            let n = Note::parse(&text).unwrap();
            assert_eq!(n.signatures.len(), 4, "{text}");
            assert_eq!(text, customer.checkpoint(&id).unwrap());
        }
        other => panic!("{other:?}"),
    }

    // The ledger file is exactly the local format: it verifies and has the same entries.
    let db = env.p(&format!("srv/{id}.db"));
    assert_eq!(lines_of(&db), lines);
    env.ok(&["verify", "--ledger", db.to_str().unwrap()]);
    assert!(env.p(&format!("srv/{id}.witness/checkpoint")).is_file());
}

/// The server's clock bounds ledger time: an upload of an existing history keeps its
/// times; an appended entry dated an hour before the clock is refused with both times.
#[test]
fn an_entry_dated_an_hour_behind_the_servers_clock_is_refused() {
    let env = Env::new();
    env.ok(&["keygen", "ops"]);
    let now = Utc::now();
    let (p, c, a) = (
        SecretKey::from_seed(&[11; 32]),
        SecretKey::from_seed(&[12; 32]),
        SecretKey::from_seed(&[13; 32]),
    );
    let party = |id: &str, role| NewParty {
        id: id.into(),
        name: id.into(),
        role,
    };
    let local = env.p("old.db");
    let (mut l, _) = Ledger::init(
        &local,
        LedgerId([9; 16]),
        &party("prov", Role::Provider),
        &p,
        now - Duration::hours(3),
    )
    .unwrap();
    l.add_party(
        &party("cust", Role::Customer),
        &c,
        &p,
        now - Duration::hours(2),
    )
    .unwrap();
    let old = now - Duration::hours(1);
    l.add_party(&party("aud", Role::Auditor), &a, &p, old)
        .unwrap();
    drop(l);
    let lines = lines_of(&local);
    let upload: String = lines[..2]
        .iter()
        .map(|l| {
            String::from_utf8(
                vouch::bundle::encode_line(l.seq, &l.body, &l.signature, &l.payload, None).unwrap(),
            )
            .unwrap()
        })
        .collect();
    std::fs::write(env.p("up.jsonl"), upload).unwrap();
    let srv = Server::start(&env, "srv", &["--admin", "keys/ops.pub"]);
    let id = LedgerId([9; 16]).to_string();
    srv.client(&env, "ops")
        .upload_ledger(&id, &env.p("up.jsonl"))
        .unwrap();
    let provider = Client::new(&srv.url, p, None).unwrap();
    let e = provider
        .append(&id, head_of(&lines[1]), &lines[2..3])
        .unwrap_err();
    assert_eq!(e.status(), 422, "{e:?}");
    let msg = vouch::Error::from(e).message().to_string();
    let t = vouch::format::entry::format_time(&old);
    assert!(
        msg.starts_with(&format!(
            "entry 3: time {t} is more than 5 minutes before the server's clock ("
        )),
        "{msg}"
    );
    assert_eq!(provider.head(&id).unwrap(), head_of(&lines[1]));
}

/// The crate's C2SP path of its tile (`tile/8/1/000` → `tile/1/000`).
fn c2sp_path(t: &tlog_tiles::Tile) -> String {
    format!("tile/{}", t.path().strip_prefix("tile/8/").unwrap())
}

/// Alters a tile's bytes.
type Damage = fn(&mut Vec<u8>);

/// Tiles read over HTTP, `damage` altering the n-th tile read (counting from 1).
struct Remote<'a> {
    client: &'a Client,
    id: String,
    reads: Cell<usize>,
    damage: Option<(usize, Damage)>,
}

impl TileReader for Remote<'_> {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        let mut out = Vec::new();
        for t in tiles {
            let mut bytes = self
                .client
                .tile(&self.id, &c2sp_path(t))
                .map_err(|e| tlog_tiles::Error::InvalidInput(format!("{e:?}")))?;
            self.reads.set(self.reads.get() + 1);
            if let Some((n, f)) = self.damage
                && n == self.reads.get()
            {
                f(&mut bytes);
            }
            out.push(bytes);
        }
        Ok(out)
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

/// A standard tlog-tiles client proves inclusion and consistency from the tiles a real
/// server serves, against the server's signed checkpoint; a forged or truncated tile, and
/// a tile beyond the checkpoint, are refused.
#[test]
fn a_standard_client_reads_the_tiles_over_http() {
    let env = Env::adopted();
    let batch: String = (1..=600)
        .map(|i| format!("{{\"item\":\"backup.restore-tests\",\"kind\":\"restore-test\",\"outcome\":\"pass\",\"performed_at\":\"2026-07-01\",\"fields\":{{\"backup_id\":\"bk-{i}\",\"rto_minutes\":45,\"data_verified\":true}}}}\n"))
        .collect();
    std::fs::write(env.p("b.jsonl"), batch).unwrap();
    env.ok(&["record", "--batch", "b.jsonl", "--key", "customer"]);
    env.ok(&["keygen", "server"]);
    let local = env.p("ledger.db");
    let id = ledger_id(&local);
    std::fs::create_dir_all(env.p("srv")).unwrap();
    std::fs::copy(&local, env.p(&format!("srv/{id}.db"))).unwrap();
    let server = pinned(&env, &id);
    let srv = Server::start(&env, "srv", &["--key", "keys/server.key"]);
    let client = srv.client(&env, "customer");
    let id = id.to_string();
    let text = client.checkpoint(&id).unwrap();
    let note = Note::parse(&text).unwrap();
    note.verify(std::slice::from_ref(&server)).unwrap();
    // The crate reads the same checkpoint text.
    let theirs = tlog_tiles::Checkpoint::from_bytes(note.text.as_bytes()).unwrap();
    let size = theirs.size();
    assert_eq!(size, 604);
    let root = *theirs.hash();
    let l = Ledger::open(&local, Access::ReadOnly).unwrap();
    assert_eq!(root.0, l.merkle_root(size).unwrap());

    let remote = Remote {
        client: &client,
        id: id.clone(),
        reads: Cell::new(0),
        damage: None,
    };
    let reader = TileHashReader::new(size, root, &remote);
    for n in [0, 255, 256, 511, 512, size - 1] {
        let proof = prove_record(size, n, &reader).unwrap();
        let entry = l.entry(n + 1).unwrap().unwrap().body;
        check_record(&proof, size, root, n, record_hash(&entry)).unwrap();
    }
    for m in [1, 256, 300, size] {
        let old = Hash(l.merkle_root(m).unwrap());
        let proof = prove_tree(size, m, &reader).unwrap();
        check_tree(&proof, size, root, m, old).unwrap();
        // The server's own proof endpoint gives the same hashes.
        let ours = client.consistency_proof(&id, m, size).unwrap();
        assert_eq!(proof.iter().map(|h| h.0).collect::<Vec<_>>(), ours);
    }
    assert!(remote.reads.get() > 0);

    // Entry bundles over HTTP: the entries, each a 16-bit length and the text.
    let bundle = client.tile(&id, "tile/entries/002.p/92").unwrap();
    let first = l.entry(513).unwrap().unwrap().body;
    assert_eq!(&bundle[..2], &(first.len() as u16).to_be_bytes());
    assert_eq!(&bundle[2..2 + first.len()], &first[..]);

    // Forged (a bit flipped) and truncated (last byte cut) tiles: the client refuses.
    #[allow(clippy::ptr_arg)] // a Damage: the truncating one needs the Vec
    fn flip(b: &mut Vec<u8>) {
        b[7] ^= 1;
    }
    fn cut(b: &mut Vec<u8>) {
        b.pop();
    }
    let n = 300;
    let entry = l.entry(n + 1).unwrap().unwrap().body;
    let genuine = prove_record(size, n, &reader).unwrap();
    for damage in [flip as Damage, cut] {
        let mut refused = 0;
        for k in 1..=4 {
            let bad = Remote {
                client: &client,
                id: id.clone(),
                reads: Cell::new(0),
                damage: Some((k, damage)),
            };
            let reader = TileHashReader::new(size, root, &bad);
            match prove_record(size, n, &reader) {
                Err(_) => refused += 1,
                // A damaged tile the proof does not rest on: the genuine proof, or none.
                Ok(p) => {
                    let checks = check_record(&p, size, root, n, record_hash(&entry)).is_ok();
                    assert!(!checks || p == genuine, "a damaged tile gave a false proof");
                    refused += usize::from(!checks);
                }
            }
        }
        assert!(refused >= 1, "a damaged tile went unnoticed");
    }

    // Beyond the checkpoint: not served (404), so a client told of a larger tree fails.
    for beyond in [
        "tile/0/002.p/93",
        "tile/0/003",
        "tile/entries/002",
        "tile/1/000.p/3",
    ] {
        let e = client.tile(&id, beyond).unwrap_err();
        assert_eq!(e.status(), 404, "{beyond}: {e:?}");
    }
    assert!(client.tile(&id, "tile/0/002.p/92").is_ok());
    assert!(client.tile(&id, "tile/1/000.p/2").is_ok());
    let e = client.consistency_proof(&id, 1, size + 1).unwrap_err();
    assert_eq!(e.status(), 404);
    let reader = TileHashReader::new(size + 100, root, &remote);
    assert!(prove_record(size + 100, size + 50, &reader).is_err());
}

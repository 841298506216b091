//! Command-line syntax: clap structures only, no behaviour.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Signed, hash-chained evidence ledger for cloud shared-responsibility matrices.
///
/// Each party (provider, customer, auditor) records evidence of the duties it performed,
/// signed with its own Ed25519 key; anyone can verify the ledger offline.
#[derive(Parser, Debug)]
#[command(name = "vouch", version, max_term_width = 100)]
#[command(
    after_help = "Exit status: 0 ok, 1 verification found a problem, 2 usage, input or I/O error.\n\
Start with `vouch demo`, then see README.md and schema/FORMAT.md."
)]
pub struct Cli {
    /// Ledger file.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        display_order = 1000,
        env = "VOUCH_LEDGER",
        default_value = "ledger.db",
        value_name = "PATH"
    )]
    pub ledger: PathBuf,

    /// Output format for commands that print data.
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        display_order = 1001,
        value_enum,
        default_value_t = Format::Text
    )]
    pub format: Format,

    #[command(subcommand)]
    pub command: Command,
}

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people (`table` is accepted too); for `report`, the PDF.
    #[value(alias = "table")]
    Text,
    /// For programs (one JSON document on standard output).
    Json,
    /// CSV (`matrix export`, `report`).
    Csv,
    /// TOML (`matrix export`).
    Toml,
    /// Markdown (`report`).
    #[value(alias = "markdown")]
    Md,
    /// PDF (`report`; its default).
    Pdf,
}

impl Format {
    /// The spelling on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Toml => "toml",
            Format::Md => "md",
            Format::Pdf => "pdf",
        }
    }
}

/// `vouch report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Write here; `-` for standard output. Default: reports/MATRIX-PERIOD.pdf for the
    /// PDF, standard output for JSON, CSV and Markdown.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
    /// Replace an existing output file whose contents differ.
    #[arg(long)]
    pub force: bool,
    /// Pinned key: a public key file or a 64-hex fingerprint (repeatable), as for
    /// `verify`. Without it the report says the keys were not pinned.
    #[arg(long, value_name = "FILE.pub|FINGERPRINT")]
    pub trust: Vec<String>,
    /// Evidence appendix: all (the evidence every duty rests on, fulfilled ones included),
    /// exceptions (only the evidence of failed, overdue, missing and disputed duties) or none.
    #[arg(long, value_name = "WHICH", default_value = "all", value_parser = ["all", "exceptions", "none"])]
    pub appendix: String,
    /// Report even if verification finds a problem (every page says so).
    #[arg(long)]
    pub allow_unverified: bool,
    /// The report at this head entry (default: the newest entry that is not a sign-off):
    /// the ledger as it stood there, entries after it left out (FORMAT.md §11).
    #[arg(long, value_name = "SEQ")]
    pub at: Option<u64>,
    #[command(flatten)]
    pub since: SinceArgs,
}

/// `--since FILE --since-key KEY`: verify from a trusted checkpoint (FORMAT.md §7.1).
#[derive(Args, Debug, Default)]
pub struct SinceArgs {
    /// Verify from this signed checkpoint: entries up to its size are rehashed and must
    /// have its Merkle root, and their signatures are not checked again. It must be signed
    /// by a key you trust (--since-key, or a key pinned with --trust).
    #[arg(long, value_name = "FILE")]
    pub since: Option<PathBuf>,
    /// A key you trust to have verified the ledger up to the --since checkpoint: a public
    /// key file or a 64-hex fingerprint (repeatable).
    #[arg(long, value_name = "FILE.pub|FINGERPRINT", requires = "since")]
    pub since_key: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a key pair: DIR/NAME.key (private, mode 0600) and DIR/NAME.pub.
    Keygen {
        /// Key name (letters, digits, '.', '_', '-').
        name: String,
        /// Directory for the key files.
        #[arg(long, default_value = "keys", value_name = "DIR")]
        dir: PathBuf,
        /// Overwrite existing key files (destroys the old private key).
        #[arg(long)]
        force: bool,
    },
    /// Create a new ledger whose first entry registers the founding party.
    Init {
        /// Founding party id (lowercase letters, digits, '-').
        #[arg(long, value_name = "ID")]
        party: String,
        /// Display name of the party.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Role of the party.
        #[arg(long, value_name = "ROLE", value_parser = ["provider", "customer", "third-party", "auditor"])]
        role: String,
        #[command(flatten)]
        key: KeyArg,
        /// Create the ledger on this vouch server (its public URL; the key must be one of
        /// its admin keys) and make the local file its replica.
        #[arg(long, value_name = "URL")]
        remote: Option<String>,
        /// CA (or self-signed) certificate to trust for --remote (PEM).
        #[arg(long, value_name = "FILE", requires = "remote")]
        ca: Option<PathBuf>,
    },
    /// Register and list parties.
    #[command(subcommand)]
    Party(PartyCommand),
    /// Rotate, revoke and list party keys (key history, schema/FORMAT.md section 14).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Record signed evidence that a duty was performed.
    #[command(after_help = "Examples:\n  \
vouch record --item backup.restore-tests --kind restore-test --outcome pass \\\n      \
--performed-at 2026-07-15 --field backup_id=bk-0715 --artifact restore.log --key keys/acme.key\n  \
vouch record --batch evidence.jsonl --key keys/acme.key")]
    Record(RecordArgs),
    /// Acknowledge, dispute or (auditor) approve another party's entry.
    #[command(after_help = CONFIRM_HELP)]
    Cosign(CosignArgs),
    /// Withdraw one of your own entries (append-only: the entry stays, marked retracted).
    #[command(after_help = CONFIRM_HELP)]
    Retract {
        /// Sequence number of the entry.
        seq: u64,
        /// Why it is withdrawn.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Respond to an exception (a management response, shown beside it in reports): to the
    /// evidence entry SEQ, or to a duty without evidence with --item ITEM --period P.
    #[command(after_help = RESPOND_HELP)]
    Respond(RespondArgs),
    /// Declare matrix items not applicable in this ledger, with a reason (one entry per
    /// item, all or none).
    #[command(after_help = ITEMS_HELP)]
    Waive {
        #[command(flatten)]
        items: ItemsArgs,
        /// Why they do not apply.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Have another party (e.g. a third party) perform items; you stay accountable (one
    /// entry per item, all or none).
    #[command(after_help = ITEMS_HELP)]
    Delegate {
        #[command(flatten)]
        items: ItemsArgs,
        /// The party that performs them.
        #[arg(long, value_name = "PARTY")]
        to: String,
        /// Optional note (contract reference, scope).
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Status of every matrix item for a period: who is responsible and whether their
    /// evidence shows the duty done.
    #[command(
        after_help = "Periods: 2026-Q3, 2026-07 (a month), 2026 (a year), or --from D --to D.\n\
Status reads the signed entries but does not check signatures: run `vouch verify` for that."
    )]
    Status {
        #[command(flatten)]
        period: PeriodArgs,
        /// Judge what was due at this time instead of now (RFC 3339 or a date).
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// The ledger as it stood at this entry: entries after it are left out, and
        /// statuses are judged as of its time unless --as-of is given.
        #[arg(long, value_name = "SEQ")]
        at: Option<u64>,
    },
    /// Sign the attestation of a period (its digest over every item's status), or, without
    /// --key, show the digest and who has signed it.
    #[command(
        after_help = "The attestation is computed at the ledger head (the newest entry that is \
not a sign-off) and judged as of that head's time, so every party signs the same digest. \
See schema/FORMAT.md section 11.\n\
With --key, the exceptions (duties failed, overdue, missing or disputed) and the digest are \
shown on standard error first; on a terminal vouch then asks before signing (--yes skips \
the question). Without a terminal it signs without asking."
    )]
    Attest {
        #[command(flatten)]
        period: PeriodArgs,
        /// Sign it with this key (file, or NAME for keys/NAME.key).
        #[arg(long, value_name = "FILE")]
        key: Option<String>,
        /// Sign without asking, even on a terminal (for scripts).
        #[arg(long, short = 'y', requires = "key")]
        yes: bool,
        /// The attestation at this head entry instead of the newest (the newest entry at
        /// or before SEQ that is not a sign-off); with --key, sign it there.
        #[arg(long, value_name = "SEQ")]
        at: Option<u64>,
        /// With --key: who signs, and as what ("Jane Roe, CISO"), shown in reports; not
        /// part of the digest.
        #[arg(long, value_name = "NAME", requires = "key")]
        signatory: Option<String>,
    },
    /// The attestation report of a period, from a verified ledger: a PDF in
    /// reports/MATRIX-PERIOD.pdf, or --format json|csv|md on standard output.
    #[command(
        after_help = "The ledger is verified first (hashes, signatures, artefacts); a ledger that does not\n\
verify gets no report (exit 1) unless --allow-unverified, which stamps every page.\n\
The same ledger and period always give the same bytes.\n\
Examples:\n  vouch report --period 2026-Q3\n  vouch report --period 2026-Q3 --format md --out q3.md\n  \
vouch report --from 2026-07-01 --to 2026-09-30 --appendix all --out full.pdf"
    )]
    Report(ReportArgs),
    /// List entries.
    Log {
        /// Only the newest N entries.
        #[arg(long, value_name = "N")]
        last: Option<u64>,
    },
    /// Show one entry: its signed text, signature and payload.
    Show {
        /// Sequence number.
        seq: u64,
    },
    /// Check every hash, signature, chain link and derived column of the ledger (and
    /// checkpoints against it); or check a proof, a bundle or a PDF report.
    #[command(
        after_help = "Without --trust, verify checks that the ledger is consistent with itself:\n\
it cannot tell whether the keys in it are the real parties' keys. Pin them with --trust.\n\
Exit status: 0 intact, 1 problem found, 2 could not run."
    )]
    Verify(VerifyArgs),
    /// Write a signed checkpoint of the ledger (C2SP signed note) and record it; or add a
    /// party's signature to a checkpoint file.
    #[command(args_conflicts_with_subcommands = true)]
    Checkpoint(CheckpointArgs),
    /// Write an inclusion proof of one entry, or a consistency proof between two
    /// checkpoints, that `vouch verify --proof` checks without the ledger.
    Prove(ProveArgs),
    /// Export a self-contained bundle an auditor verifies without the SQLite file.
    Export(ExportArgs),
    /// Check, show, compare, convert and adopt shared-responsibility matrices.
    #[command(subcommand)]
    Matrix(MatrixCommand),
    /// List the evidence kinds `record --kind` accepts, or one kind's fields (name, type,
    /// whether required, what it means).
    Kinds {
        /// Show this kind's fields.
        #[arg(value_name = "KIND")]
        kind: Option<String>,
    },
    /// Print the shell completion script for bash, zsh, fish or powershell.
    #[command(
        after_help = "Examples:\n  vouch completions bash > ~/.local/share/bash-completion/completions/vouch\n  \
vouch completions zsh > \"${fpath[1]}/_vouch\"\n  vouch completions fish > ~/.config/fish/completions/vouch.fish"
    )]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the manual pages: vouch.1 on standard output, or with --out DIR, vouch.1 and
    /// one page per subcommand (vouch-report.1, …) in DIR.
    Man {
        /// Directory for the pages (created if missing).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Tell the whole story: a ledger in ./demo with three parties' keys, a quarter of
    /// evidence, sign-offs, verification, and the PDF in reports/demo-attestation.pdf.
    /// With --serve, the same story through a server on loopback: each party in its own
    /// directory of ./demo-net with its own key and replica, and its own PDF.
    #[command(
        after_help = "Examples:\n  vouch demo\n  vouch demo --serve          # provider, customer and auditor each in demo-net/<role>/"
    )]
    Demo {
        /// Directory for the demo, rebuilt on every run [default: demo, or demo-net with
        /// --serve].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Where to write the PDF attestation (replaced on every run; with --serve each
        /// party writes DIR/<role>/attestation.pdf).
        #[arg(
            long,
            default_value = "reports/demo-attestation.pdf",
            value_name = "FILE",
            conflicts_with = "serve"
        )]
        pdf: PathBuf,
        /// Run a vouch server on loopback (port chosen by the system, data in DIR/server)
        /// and tell the story through it: the provider, the customer and the auditor each
        /// work from DIR/<role> with their own key and replica; each writes the PDF, and
        /// the three are checked byte for byte against the local demo's.
        #[arg(long)]
        serve: bool,
    },
    /// Host ledgers for parties on other machines (schema/PROTOCOL.md): each ledger is
    /// DIR/<ledger id>.db in the local format (or a ledger of a PostgreSQL database); every
    /// request is signed by a key registered in the ledger it names.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Make a verified local replica of a ledger on a vouch server (schema/PROTOCOL.md
    /// section 7): every entry, matrix and stored artefact, verified as `vouch verify` does.
    #[command(after_help = REPLICA_HELP)]
    Clone {
        /// The server's public URL and the ledger id: URL/LEDGER-ID.
        #[arg(value_name = "URL/ID")]
        url_id: String,
        /// Private key file of a party registered in the ledger (or NAME for
        /// keys/NAME.key): it signs this replica's requests.
        #[arg(long, env = "VOUCH_KEY", value_name = "FILE")]
        key: String,
        /// CA (or self-signed) certificate to trust (PEM).
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
    /// Fetch a replica's new entries from its server, verified; refused (exit 1, replica
    /// kept) if the server's history does not extend the replica's.
    #[command(after_help = REPLICA_HELP)]
    Pull {
        /// Sign the requests with this private key instead of the replica's.
        #[arg(long, value_name = "FILE")]
        key: Option<String>,
    },
    /// Upload a local ledger whole to a vouch server (an admin key) with its artefacts; the
    /// local file becomes its replica.
    #[command(after_help = REPLICA_HELP)]
    Push {
        /// The server's public URL.
        #[arg(value_name = "URL")]
        url: String,
        /// An admin key of the server that is also registered in the ledger (or NAME for
        /// keys/NAME.key): it signs the upload and the replica's requests.
        #[arg(long, env = "VOUCH_KEY", value_name = "FILE")]
        key: String,
        /// CA (or self-signed) certificate to trust (PEM).
        #[arg(long, value_name = "FILE")]
        ca: Option<PathBuf>,
    },
    /// Show a replica's server, ledger id, key and head (and the server's head, if it
    /// answers).
    Remote,
}

const REPLICA_HELP: &str = "A replica is a ledger file with a sidecar FILE.remote naming its \
server (url, ledger id, key, ca). On a replica every writing command (record, cosign, retract, \
waive, delegate, respond, matrix adopt, attest --key, checkpoint, key rotate|revoke, party add) \
goes through the server and then pulls; status, report, verify, log and show work offline.

Examples:
  vouch init --remote https://vouch.example.net --party cloudtemple --name \"Cloud Temple\" --role provider --key keys/ct.key
  vouch clone https://vouch.example.net/0123456789abcdef0123456789abcdef --key keys/acme.key
  vouch pull
  vouch push https://vouch.example.net --key keys/ct.key";

const SERVE_HELP: &str = "Plain HTTP is served only on a loopback address; any other --listen \
address needs --tls-cert and --tls-key (or listen on 127.0.0.1 behind a TLS reverse proxy and \
give its URL with --public-url). Prints one line when listening: the URL, the data directory \
or database, and the number of ledgers. Stops on SIGTERM or ctrl-c, letting open requests finish.

With --database every ledger is in one PostgreSQL database (the vouch schema is created or \
migrated at start-up); several servers may share it. --import DIR moves the ledger files of a \
--data directory into the database, each verified on the way, prints what became of each and \
exits (ledgers the database has are skipped; exit 1 if one was refused).

Examples:
  vouch serve --data /srv/vouch --admin keys/ops.pub
  vouch serve --database postgres://vouch@db.internal:5432/vouch?pool_max=20 --admin keys/ops.pub
  vouch serve --database postgres://vouch@db.internal/vouch --import /srv/vouch
  vouch serve --data /srv/vouch --listen 0.0.0.0:7878 --tls-cert cert.pem --tls-key key.pem --admin keys/ops.pub
  vouch serve --data /srv/vouch --listen 127.0.0.1:7878 --public-url https://vouch.example.net
  vouch serve --data /srv/vouch --admin keys/ops.pub --key keys/server.key
  vouch serve --show-key --key keys/server.key --data /srv/vouch";

/// `vouch serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Directory of the ledger files (DIR/<ledger id>.db); it must exist.
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present_any = ["database", "show_key"],
        conflicts_with = "database"
    )]
    pub data: Option<PathBuf>,
    /// PostgreSQL database holding every ledger: postgres://USER@HOST:PORT/DB, optionally
    /// ?pool_max=N (connections, default 10); a Unix socket as
    /// postgres://USER@%2Fvar%2Frun%2Fpostgresql/DB.
    #[arg(
        long,
        value_name = "URL",
        env = "VOUCH_DATABASE_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// Move the ledger files of DIR (a --data directory) into the --database, verified,
    /// then exit.
    #[arg(long, value_name = "DIR", requires = "database")]
    pub import: Option<PathBuf>,
    /// Address and port to listen on (port 0: any free port, printed when listening).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// TLS certificate chain (PEM), the server's certificate first.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Public key of an admin, who may create and upload ledgers (repeatable).
    #[arg(long, value_name = "FILE.pub")]
    pub admin: Vec<PathBuf>,
    /// The URL clients use to reach the server (requests are signed for it), when it is
    /// not the listening address: behind a reverse proxy. Default: http(s)://ADDR:PORT.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The server's own Ed25519 key (made by `vouch keygen`): it signs a checkpoint after
    /// every write (the receipt) and serves checkpoints, cosignatures, proofs and tiles.
    /// Without it the server signs nothing.
    #[arg(long, value_name = "FILE.key")]
    pub key: Option<PathBuf>,
    /// Print the server key's fingerprint and public key, and with --data the verifier keys
    /// (vkeys) of each ledger's checkpoints, then exit.
    #[arg(long, requires = "key")]
    pub show_key: bool,
}

/// `--period P` or `--from D --to D`.
#[derive(Args, Debug, Clone)]
pub struct PeriodArgs {
    /// The period: 2026-Q3, 2026-07 (a month), 2026 (a year).
    #[arg(long, value_name = "PERIOD", conflicts_with_all = ["from", "to"], required_unless_present_all = ["from", "to"])]
    pub period: Option<String>,
    /// First day of the period (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", requires = "to")]
    pub from: Option<String>,
    /// Last day of the period, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", requires = "from")]
    pub to: Option<String>,
}

/// `vouch cosign`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["ack", "dispute", "approve"])))]
pub struct CosignArgs {
    /// Sequence number of the entry.
    pub seq: u64,
    /// Acknowledge it.
    #[arg(long)]
    pub ack: bool,
    /// Dispute it, saying why.
    #[arg(long, value_name = "REASON")]
    pub dispute: Option<String>,
    /// Approve it (auditors only).
    #[arg(long)]
    pub approve: bool,
    /// Optional comment with --ack or --approve.
    #[arg(long, value_name = "TEXT", conflicts_with = "dispute")]
    pub note: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub key: KeyArg,
}

/// `vouch respond`.
#[derive(Args, Debug)]
pub struct RespondArgs {
    /// The evidence entry the exception names (omit it for a duty without evidence, with
    /// --item ITEM --period P).
    #[arg(required_unless_present = "period")]
    pub seq: Option<u64>,
    /// Without SEQ: the period of the duty without evidence (2026-Q3, 2026-07, 2026); the
    /// item is --item.
    #[arg(long, value_name = "PERIOD", conflicts_with = "seq", requires = "item")]
    pub period: Option<String>,
    /// The response: what management says about the exception (free text, at most 8192
    /// bytes).
    #[arg(long, value_name = "TEXT")]
    pub text: String,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub key: KeyArg,
}

/// What `respond` says about who responds and confirming.
const RESPOND_HELP: &str = "A party bound by the adopted matrix, or the party that signed the \
evidence, responds; an auditor does not. A response changes no status: the report shows each \
party's latest response beside the exception (a response is withdrawn with vouch retract).\n\
With SEQ, the evidence entry is shown on standard error first and, on a terminal, vouch asks \
before signing (--yes skips the question); --item ITEM then refuses unless the entry is about \
that item.\n\
Examples:\n  vouch respond 42 --text \"Restore test rescheduled after the storage migration\" --key acme\n  \
vouch respond --item backup.restore-tests --period 2026-Q3 --text \"…\" --key acme";

/// What `cosign` and `retract` say about confirming.
const CONFIRM_HELP: &str = "The target entry is shown on standard error first (kind, item, \
signer, dates). On a terminal (standard input and standard error) vouch then asks before \
signing; --yes skips the question. Without a terminal it goes ahead without asking.\n\
--item ITEM refuses (exit 2, nothing written) unless the entry is about that item.";

/// What `waive` and `delegate` say about choosing items.
const ITEMS_HELP: &str = "Once a matrix is adopted, every item must be one of its items \
(`vouch matrix show --adopted` lists them): an unknown id is refused (exit 2, nothing \
written). --section and --service take every item of a section or service of the adopted \
matrix.";

/// `waive` and `delegate`: the items, by id, section or service.
#[derive(Args, Debug, Clone)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(true).args(["items", "section", "service"])))]
pub struct ItemsArgs {
    /// Item ids.
    #[arg(value_name = "ITEM")]
    pub items: Vec<String>,
    /// Every item of this section of the adopted matrix (repeatable).
    #[arg(long, value_name = "ID")]
    pub section: Vec<String>,
    /// Every item of this service of the adopted matrix (repeatable).
    #[arg(long, value_name = "ID")]
    pub service: Vec<String>,
}

/// `cosign` and `retract`: guards against acting on the wrong entry.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Refuse unless the entry is about this matrix item (a guard against a mistyped SEQ).
    #[arg(long, value_name = "ITEM")]
    pub item: Option<String>,
    /// Do not ask for confirmation on a terminal (for scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Args, Debug, Clone)]
pub struct KeyArg {
    /// Private key file of the signing party (or NAME for keys/NAME.key).
    #[arg(long, env = "VOUCH_KEY", value_name = "FILE")]
    pub key: String,
}

/// `vouch checkpoint`.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    #[command(subcommand)]
    pub cmd: Option<CheckpointCommand>,
    /// Private key file of the signing party (or NAME for keys/NAME.key).
    #[arg(long, env = "VOUCH_KEY", value_name = "FILE")]
    pub key: Option<String>,
    /// Write the checkpoint here (never over another file). Default:
    /// checkpoint-SIZE.txt in the current directory.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum CheckpointCommand {
    /// Verify the ledger against a checkpoint file and add your signature line to it.
    Cosign {
        /// The checkpoint file (rewritten with the new signature line).
        file: PathBuf,
        #[command(flatten)]
        key: KeyArg,
    },
}

#[derive(Subcommand, Debug)]
pub enum PartyCommand {
    /// Register another party and its key, signed by a registered party. The new key's
    /// proof of possession comes from the new party's request file (--request, made with
    /// `vouch party request`) or, when you hold the new party's private key, from it
    /// (--new-key).
    Add {
        /// Party id (lowercase letters, digits, '-'); with --request, taken from the file.
        #[arg(required_unless_present = "request", conflicts_with = "request")]
        id: Option<String>,
        /// Display name.
        #[arg(
            long,
            value_name = "NAME",
            required_unless_present = "request",
            conflicts_with = "request"
        )]
        name: Option<String>,
        /// Role.
        #[arg(long, value_name = "ROLE", value_parser = ["provider", "customer", "third-party", "auditor"], required_unless_present = "request", conflicts_with = "request")]
        role: Option<String>,
        /// The registration request the new party made (`vouch party request`).
        #[arg(long, value_name = "FILE")]
        request: Option<PathBuf>,
        /// The new party's private key (or NAME for keys/NAME.key), to sign its proof of
        /// possession here.
        #[arg(long, value_name = "FILE", conflicts_with = "request")]
        new_key: Option<String>,
        /// No longer accepted: a public key alone carries no proof of possession.
        #[arg(long, value_name = "FILE", hide = true)]
        pubkey: Option<PathBuf>,
        #[command(flatten)]
        key: KeyArg,
    },
    /// Make a registration request: the party payload with your key's proof of possession,
    /// for a registered party to append with `vouch party add --request FILE`.
    Request {
        /// Your party id (lowercase letters, digits, '-').
        id: String,
        /// Your display name.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Your role.
        #[arg(long, value_name = "ROLE", value_parser = ["provider", "customer", "third-party", "auditor"])]
        role: String,
        /// The ledger id (32 hex digits, `vouch log` or the registering party tells it);
        /// default: the id of the ledger file.
        #[arg(long, value_name = "ID")]
        ledger_id: Option<String>,
        /// Where to write the request (default: ID.request.json; never overwritten).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Your private key file (or NAME for keys/NAME.key).
        #[arg(long, value_name = "FILE")]
        key: String,
    },
    /// List registered parties and their key fingerprints.
    List,
}

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Matrix item the evidence is for (e.g. backup.restore-tests).
    #[arg(
        long,
        value_name = "ITEM",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    pub item: Option<String>,
    /// Evidence kind (e.g. restore-test, patch-run, access-review).
    #[arg(
        long,
        value_name = "KIND",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    pub kind: Option<String>,
    /// Outcome: pass, fail or partial.
    #[arg(
        long,
        value_name = "OUTCOME",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    pub outcome: Option<String>,
    /// When the duty was performed: RFC 3339 or a date (UTC); default: now.
    #[arg(long, value_name = "TIME", conflicts_with = "batch")]
    pub performed_at: Option<String>,
    /// Structured field, key=value (repeatable).
    #[arg(long = "field", value_name = "KEY=VALUE", conflicts_with = "batch")]
    pub fields: Vec<String>,
    /// Artefact file: hashed, and stored in the ledger unless --no-store (repeatable).
    #[arg(long = "artifact", value_name = "FILE", conflicts_with = "batch")]
    pub artifacts: Vec<PathBuf>,
    /// Free-text note.
    #[arg(long, value_name = "TEXT", conflicts_with = "batch")]
    pub note: Option<String>,
    /// Record every line of a JSONL file (`-`: standard input), all in one transaction (all or nothing).
    #[arg(long, value_name = "FILE.jsonl")]
    pub batch: Option<PathBuf>,
    /// Keep only artefact names, sizes and hashes; do not store their content.
    #[arg(long)]
    pub no_store: bool,
    /// Record as supporting evidence: allowed for an item you hold neither R nor A for,
    /// and it fulfils nobody's duty.
    #[arg(long)]
    pub supporting: bool,
    #[command(flatten)]
    pub key: KeyArg,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Pinned key: a public key file or a 64-hex fingerprint (repeatable). Every key in the
    /// ledger must be one of them. With --proof: public key files only.
    #[arg(long, value_name = "FILE.pub|FINGERPRINT")]
    pub trust: Vec<String>,
    /// Also re-hash every stored artefact.
    #[arg(long)]
    pub artifacts: bool,
    /// Report every problem, not just the first.
    #[arg(long)]
    pub all: bool,
    /// A signed checkpoint held outside the ledger (repeatable): the ledger (or the
    /// bundle) must still contain exactly what it committed to, and extend it.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Vec<PathBuf>,
    /// Check an inclusion or consistency proof file instead of a ledger (needs --trust).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bundle", "checkpoint"])]
    pub proof: Option<PathBuf>,
    /// Check an export bundle directory instead of a ledger file.
    #[arg(long, value_name = "DIR", conflicts_with = "proof")]
    pub bundle: Option<PathBuf>,
    /// Check a PDF report against the ledger: make it again with the options it records and
    /// say whether it still matches (attestation digest, checkpoint, bytes).
    #[arg(long, value_name = "FILE.pdf", conflicts_with_all = ["proof", "bundle", "checkpoint"])]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub since: SinceArgs,
}

/// `vouch key …`.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Replace your party's key with a new one: a key-rotation entry signed by the old key
    /// (--key), carrying the new public key and the new key's proof of possession. The old
    /// key signs nothing afterwards.
    #[command(after_help = "Examples:\n  \
vouch keygen acme-2026\n  \
vouch key rotate --key keys/acme.key --new acme-2026\n\
Auditors who pin keys (verify --trust) pin the new key too.")]
    Rotate {
        #[command(flatten)]
        key: KeyArg,
        /// The new key: NEW.key, NEW.pub (its private key is read from NEW.key beside it),
        /// or NAME for keys/NAME.key.
        #[arg(long, value_name = "NEW")]
        new: String,
    },
    /// Revoke one of your party's retired keys from a time on (it was compromised): what it
    /// signed from then on does not count as evidence. Rotate first to revoke your current
    /// key.
    #[command(after_help = "Example:\n  \
vouch key revoke 3f9c…(64 hex) --since 2026-08-02T14:00:00Z --reason \"laptop stolen\" --key keys/acme-2026.key\n\
A party revokes only its own keys; a revocation is final.")]
    Revoke {
        /// Fingerprint of the key (64 lowercase hex, as `vouch key list` prints it).
        fingerprint: String,
        /// From when the key is no longer trusted: RFC 3339 or a date (UTC), not in the
        /// future.
        #[arg(long, value_name = "TIME")]
        since: String,
        /// Why (for example: "laptop stolen on 2026-08-02").
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        key: KeyArg,
    },
    /// List every key of every party and its state: valid, retired or revoked.
    List,
}

/// `vouch prove`.
#[derive(Args, Debug)]
pub struct ProveArgs {
    /// The entry to prove (sequence number).
    #[arg(value_name = "SEQ", required_unless_present_all = ["from", "to"])]
    pub seq: Option<u64>,
    /// Prove against this signed checkpoint (default: the newest one recorded in the ledger).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "to"])]
    pub checkpoint: Option<PathBuf>,
    /// Consistency proof: the older checkpoint.
    #[arg(long, value_name = "CP1", requires = "to", conflicts_with = "seq")]
    pub from: Option<PathBuf>,
    /// Consistency proof: the newer checkpoint.
    #[arg(long, value_name = "CP2", requires = "from")]
    pub to: Option<PathBuf>,
    /// Where to write the proof (never overwritten); default: `entry-SEQ.proof`, or
    /// `consistency-OLD-NEW.proof` for a consistency proof.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `vouch export`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["bundle", "oscal", "in_toto"])))]
pub struct ExportArgs {
    /// A bundle: the directory to create (must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// OSCAL 1.1 assessment results of --period, from the verified ledger (schema/FORMAT.md
    /// section 18.1); with --sign, a DSSE envelope FILE.dsse.json beside --out.
    #[arg(long, requires = "period", conflicts_with_all = ["items", "seq", "artifacts"])]
    pub oscal: bool,
    /// in-toto attestations (DSSE envelopes) of the evidence entries SEQ… or of --period
    /// that --key's party signed, one file per entry in --out DIR (schema/FORMAT.md
    /// section 18.3).
    #[arg(long = "in-toto", conflicts_with_all = ["items", "seq", "artifacts"])]
    pub in_toto: bool,
    /// With --in-toto: the evidence entries to attest.
    #[arg(value_name = "SEQ", requires = "in_toto", conflicts_with = "period")]
    pub entries: Vec<u64>,
    /// Signs (a registered party's key, or NAME for keys/NAME.key): the bundle's
    /// checkpoint and MANIFEST, the --oscal document with --sign, the --in-toto envelopes.
    #[arg(long, env = "VOUCH_KEY", value_name = "FILE")]
    pub key: Option<String>,
    /// With --oscal: sign the document with --key the way compliance-trestle signs
    /// (`trestle verify --beta` checks it); a further party's --sign adds its signature.
    #[arg(long, requires_all = ["oscal", "out", "key"])]
    pub sign: bool,
    /// With --oscal: the file (default: standard output); with --in-toto: the directory
    /// (default: the current directory).
    #[arg(long, value_name = "FILE|DIR", conflicts_with = "bundle")]
    pub out: Option<PathBuf>,
    /// With --oscal or --in-toto: replace files whose contents differ.
    #[arg(long, conflicts_with = "bundle")]
    pub force: bool,
    /// With --oscal: pinned key, a public key file or a 64-hex fingerprint (repeatable), as
    /// for `verify`.
    #[arg(long, value_name = "FILE.pub|FINGERPRINT", requires = "oscal")]
    pub trust: Vec<String>,
    /// Sample: the evidence performed in this period (2026-Q3, 2026-07, 2026), with the
    /// waivers and delegations, each with an inclusion proof instead of the whole ledger.
    /// With --oscal or --in-toto: the period.
    #[arg(long, value_name = "PERIOD")]
    pub period: Option<String>,
    /// Sample: the entries about these items (evidence, waivers, delegations), with
    /// inclusion proofs. With --period: the evidence of these items in the period.
    #[arg(long, value_name = "ITEM,...", value_delimiter = ',')]
    pub items: Vec<String>,
    /// Sample: these entries, with inclusion proofs.
    #[arg(long, value_name = "N,...", value_delimiter = ',', conflicts_with_all = ["items", "period"])]
    pub seq: Vec<u64>,
    /// Include the stored artefacts of the exported evidence (artifacts/SHA256).
    #[arg(long)]
    pub artifacts: bool,
}

/// `vouch matrix …` subcommands.
#[derive(Subcommand, Debug)]
pub enum MatrixCommand {
    /// Check matrix files against schema/MATRIX.md (stops at the first bad file).
    Validate {
        /// Matrix files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show a matrix: its header, then its items section by section, each with its
    /// evidence kinds and every role's duty statement.
    Show {
        /// Matrix file (TOML).
        #[arg(
            value_name = "FILE",
            required_unless_present = "adopted",
            conflicts_with = "adopted"
        )]
        file: Option<PathBuf>,
        /// Show the matrix adopted in the ledger (--ledger) instead of a file.
        #[arg(long)]
        adopted: bool,
    },
    /// Compare two versions of a matrix, item by item (exit 0 either way).
    #[command(
        after_help = "Lines: `+ ITEM` added, `- ITEM` removed, `~ ITEM: WHAT: OLD -> NEW` \
changed; `~ matrix: …` for the header."
    )]
    Diff {
        /// The earlier version.
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The later version.
        #[arg(value_name = "NEW")]
        new: PathBuf,
    },
    /// Make a matrix file from a CSV of items (columns: see schema/MATRIX.md "CSV form"),
    /// or from a spreadsheet's CSV through a column map ("Importing spreadsheets").
    #[command(
        after_help = "Without --header, a skeleton [matrix] header and role names are \
written, marked TODO: fill them in before adopting the matrix.\n\n\
A spreadsheet's own columns are mapped to the import's: \
--map 'Control ID=id' --map 'Customer Responsibility=statement:customer' \
--map 'Shared?=shared' --map 'Frequency=cadence' --map 'Owner notes=ignore'. \
The delimiter (comma, semicolon or tab) is taken from the header line; \
every error of the file is reported at once."
    )]
    Import {
        /// The CSV file (or, with --from oscal-ssp, the OSCAL SSP in JSON).
        #[arg(value_name = "FILE")]
        csv: PathBuf,
        /// What FILE is: csv (the default), or oscal-ssp, an OSCAL system security plan
        /// in JSON (schema/MATRIX.md, "Importing OSCAL security plans").
        #[arg(long, value_name = "FORM", default_value = "csv", value_parser = ["csv", "oscal-ssp"])]
        from: String,
        /// Read the sheet's column COLUMN as TARGET: one of the CSV form's columns
        /// (statement:provider for statement_provider), shared, inherited, or ignore.
        /// Repeatable; overrides --map-file for the same column.
        #[arg(long = "map", value_name = "COLUMN=TARGET")]
        maps: Vec<String>,
        /// A TOML file whose [columns] table maps the sheet's columns: "Control ID" = "id".
        #[arg(long, value_name = "MAP.toml")]
        map_file: Option<PathBuf>,
        /// A matrix file giving the header, roles, services, variants and section details
        /// (its items are ignored: the CSV's replace them).
        #[arg(long, value_name = "FILE.toml")]
        header: Option<PathBuf>,
        /// Write the matrix file here (never over an existing file) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Convert a matrix file to CSV (items only), JSON or TOML.
    Export {
        /// Matrix file (TOML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output form; the global `--format csv|json|toml` does the same.
        #[arg(long, value_enum, value_name = "FORM")]
        to: Option<ExportFormat>,
        /// Write here (never over an existing file) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Adopt a matrix in the ledger: record its exact bytes and SHA-256, bind its roles to
    /// parties, signed by one of them (the others acknowledge with `vouch cosign SEQ --ack`).
    Adopt {
        /// Matrix file (TOML); it must validate.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// ROLE=PARTY for every role of the matrix (repeatable).
        #[arg(long = "bind", value_name = "ROLE=PARTY", required = true)]
        binds: Vec<String>,
        /// A matrix variant (contract option) that applies (repeatable).
        #[arg(long = "variant", value_name = "ID")]
        variants: Vec<String>,
        /// Adopt only this service's items (repeatable; default: every service). Items of
        /// other services are not part of the attestation.
        #[arg(long = "service", value_name = "ID")]
        services: Vec<String>,
        #[command(flatten)]
        key: KeyArg,
    },
}

/// What `vouch matrix export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The items as CSV (RFC 4180), for spreadsheets.
    Csv,
    /// The matrix as JSON (as `vouch matrix show --format json`).
    Json,
    /// The matrix as a TOML matrix file.
    Toml,
}

impl ExportFormat {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
            ExportFormat::Toml => "toml",
        }
    }
}

//! The command-line front end: parses arguments, calls the library, prints results.
//!
//! This is the only place that prints, reads the clock for commands (through
//! [`vouch::clock`]) and maps outcomes to exit codes: 0 ok, 1 verification found a
//! problem, 2 usage, input or I/O error.
//!
//! Here: [`main`] and the dispatch. The clap syntax is in `args`, each command group in
//! its `*_cmd` module, and the helpers they share in `input` and `output`.

/// Write to standard output; a closed pipe is not an error (exit quietly).
/// While a command runs through a replica's remote, its lines are held back
/// ([`output::captured`]) and printed once, for the attempt that landed.
macro_rules! out {
    ($($arg:tt)*) => {
        if !crate::cli::output::capture(|| format!($($arg)*))
            && writeln!(io::stdout().lock(), $($arg)*).is_err()
        {
            std::process::exit(0);
        }
    };
}

mod args;
mod bundle_cmd;
mod checkpoint_cmd;
mod confirm;
mod demo_cmd;
mod init_cmd;
mod input;
mod interop_cmd;
mod key_cmd;
mod kinds_cmd;
mod log_cmd;
mod matrix_cmd;
mod output;
mod party_cmd;
mod progress;
mod proof_cmd;
mod record_cmd;
mod remote_cmd;
mod serve_cmd;
mod status_cmd;
mod verify_cmd;

use std::process::ExitCode;

use args::{Cli, Command, Format, MatrixCommand, PartyCommand};
use input::parse_period;
use output::Outcome;
use party_cmd::NewPartyArgs;
use vouch::{Error, Result};

/// The `vouch` binary: parse arguments, run, map the outcome to an exit code.
pub(crate) fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("vouch: error: internal error: {info}");
        eprintln!("vouch: hint: this is a bug in vouch; please report it with the command you ran");
    }));
    let cli = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Problem) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vouch: error: {}", e.message());
            if let Some(h) = e.hint_text() {
                eprintln!("vouch: hint: {h}");
            }
            ExitCode::from(2)
        }
    }
}

/// Parse the command line. Commands that never open a ledger do not list `--ledger` in
/// their help (it is global, so clap would otherwise show it everywhere).
fn parse_args() -> std::result::Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let mut cmd = Cli::command();
    // clap copies a global argument into a subcommand only where none of that id exists:
    // give these a hidden copy first.
    let ledger = cmd
        .get_arguments()
        .find(|a| a.get_id() == "ledger")
        .cloned();
    if let Some(ledger) = ledger {
        for name in ["keygen", "demo", "completions", "man"] {
            let hidden = ledger.clone().hide(true);
            cmd = cmd.mut_subcommand(name, |s| s.arg(hidden));
        }
    }
    let matches = cmd.try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

/// Whether a command appends entries (on a replica it goes through the remote).
fn writes(c: &Command) -> bool {
    use args::KeyCommand;
    matches!(
        c,
        Command::Record(_)
            | Command::Cosign(_)
            | Command::Respond(_)
            | Command::Retract { .. }
            | Command::Waive { .. }
            | Command::Delegate { .. }
            | Command::Matrix(MatrixCommand::Adopt { .. })
            | Command::Attest { key: Some(_), .. }
            | Command::Checkpoint(args::CheckpointArgs { cmd: None, .. })
            | Command::Key(KeyCommand::Rotate { .. } | KeyCommand::Revoke { .. })
            | Command::Party(PartyCommand::Add { .. })
    )
}

/// Run a parsed command line: on a replica, a writing command runs through its remote
/// (`remote_cmd::write_through`), on a temporary copy of the replica, re-parsed for each
/// attempt.
fn run(cli: Cli) -> Result<Outcome> {
    if writes(&cli.command)
        && let Some(remote) = vouch::protocol::remote::Remote::load(&cli.ledger)?
    {
        let ledger = cli.ledger.clone();
        return remote_cmd::write_through(&ledger, &remote, &mut |tmp| {
            let mut again = parse_args().map_err(|e| Error::new(e.to_string()))?;
            again.ledger = tmp.to_path_buf();
            run_here(again)
        });
    }
    run_here(cli)
}

/// Run a parsed command line on the ledger file it names.
fn run_here(cli: Cli) -> Result<Outcome> {
    let fmt = cli.format;
    let reporting = matches!(cli.command, Command::Report { .. });
    let exporting =
        reporting || matches!(cli.command, Command::Matrix(MatrixCommand::Export { .. }));
    let only_for = match fmt {
        Format::Csv | Format::Toml if !exporting => {
            Some("`vouch matrix export` and `vouch report`")
        }
        Format::Md | Format::Pdf if !reporting => Some("`vouch report`"),
        _ => None,
    };
    if let Some(commands) = only_for {
        return Err(
            Error::new(format!("--format {} is only for {commands}", fmt.name()))
                .hint("this command prints --format text or json"),
        );
    }
    match cli.command {
        Command::Matrix(MatrixCommand::Adopt {
            file,
            binds,
            variants,
            services,
            key,
        }) => {
            let scope = vouch::ledger::actions::Scope { variants, services };
            record_cmd::adopt(&cli.ledger, &file, &binds, scope, &key.key, fmt)
        }
        Command::Kinds { kind } => kinds_cmd::kinds(kind.as_deref(), fmt),
        Command::Matrix(MatrixCommand::Import {
            csv,
            from,
            maps,
            map_file,
            header,
            out,
        }) if from == "oscal-ssp" => {
            if !maps.is_empty() || map_file.is_some() {
                return Err(Error::new("--map and --map-file are for CSV files")
                    .hint("an OSCAL SSP is read as it is: drop --map"));
            }
            interop_cmd::import_ssp(&csv, header.as_deref(), out.as_deref(), fmt)
        }
        Command::Matrix(cmd) => matrix_cmd::run(cmd, &cli.ledger, fmt),
        Command::Keygen { name, dir, force } => init_cmd::keygen(&name, &dir, force, fmt),
        Command::Init {
            party,
            name,
            role,
            key,
            remote,
            ca,
        } => {
            let founder = init_cmd::Founder { party, name, role };
            match remote {
                None => init_cmd::init(&cli.ledger, founder, &key, fmt),
                Some(url) => init_cmd::init_remote(&cli.ledger, founder, &key, &url, ca, fmt),
            }
        }
        Command::Party(PartyCommand::Add {
            id,
            name,
            role,
            request,
            new_key,
            pubkey,
            key,
        }) => party_cmd::add(
            &cli.ledger,
            party_cmd::AddArgs {
                id,
                name,
                role,
                request,
                new_key,
                pubkey,
            },
            &key,
            fmt,
        ),
        Command::Party(PartyCommand::Request {
            id,
            name,
            role,
            ledger_id,
            out,
            key,
        }) => party_cmd::request(
            &cli.ledger,
            NewPartyArgs { id, name, role },
            ledger_id.as_deref(),
            out,
            &key,
            fmt,
        ),
        Command::Party(PartyCommand::List) => party_cmd::list(&cli.ledger, fmt),
        Command::Key(cmd) => key_cmd::run(&cli.ledger, cmd, fmt),
        Command::Record(args) => record_cmd::record(&cli.ledger, &args, fmt),
        Command::Cosign(args) => record_cmd::cosign(&cli.ledger, args, fmt),
        Command::Respond(args) => record_cmd::respond(&cli.ledger, args, fmt),
        Command::Retract {
            seq,
            reason,
            target,
            key,
        } => record_cmd::retract(&cli.ledger, seq, reason, &target, &key, fmt),
        Command::Waive { items, reason, key } => {
            record_cmd::waive(&cli.ledger, &items, reason, &key, fmt)
        }
        Command::Delegate {
            items,
            to,
            note,
            key,
        } => record_cmd::delegate(&cli.ledger, &items, to, note, &key, fmt),
        Command::Status { period, as_of, at } => {
            status_cmd::status(&cli.ledger, parse_period(period)?, as_of, at, fmt)
        }
        Command::Attest {
            period,
            key,
            yes,
            at,
            signatory,
        } => status_cmd::attest(
            &cli.ledger,
            parse_period(period)?,
            key.map(|k| (k, signatory)),
            yes,
            at,
            fmt,
        ),
        Command::Report(args) => status_cmd::report(&cli.ledger, args, fmt),
        Command::Log { last } => log_cmd::log(&cli.ledger, last, fmt),
        Command::Show { seq } => log_cmd::show(&cli.ledger, seq, fmt),
        Command::Verify(args)
            if args.since.since.is_some()
                && (args.proof.is_some() || args.bundle.is_some() || args.report.is_some()) =>
        {
            Err(Error::new(
                "--since verifies a ledger file from a checkpoint; it cannot be used with --proof, --bundle or --report",
            ))
        }
        Command::Verify(args) => match (&args.proof, &args.bundle, &args.report) {
            (Some(file), _, _) => proof_cmd::verify_proof(file, &args.trust, fmt),
            (None, Some(dir), _) => bundle_cmd::verify_bundle(dir, &args, fmt),
            (None, None, Some(pdf)) => verify_cmd::verify_report(&cli.ledger, pdf, fmt),
            (None, None, None) => verify_cmd::verify(&cli.ledger, &args, fmt),
        },
        Command::Checkpoint(args) => checkpoint_cmd::run(&cli.ledger, args, fmt),
        Command::Prove(args) => proof_cmd::prove(&cli.ledger, args, fmt),
        Command::Export(args) if args.in_toto => {
            interop_cmd::export_in_toto(&cli.ledger, &args, fmt)
        }
        Command::Export(args) if args.oscal => interop_cmd::export_oscal(&cli.ledger, &args, fmt),
        Command::Export(args) => bundle_cmd::export(&cli.ledger, args, fmt),
        Command::Completions { shell } => interop_cmd::completions(shell),
        Command::Man { out } => interop_cmd::man(out.as_deref()),
        Command::Demo { dir, pdf, serve } => {
            if serve {
                demo_cmd::demo_serve(&dir.unwrap_or_else(|| "demo-net".into()), fmt)
            } else {
                demo_cmd::demo(&dir.unwrap_or_else(|| "demo".into()), &pdf, fmt)
            }
        }
        Command::Serve(args) => serve_cmd::serve(&args),
        Command::Clone { url_id, key, ca } => {
            remote_cmd::clone(&cli.ledger, &url_id, &key, ca, fmt)
        }
        Command::Pull { key } => remote_cmd::pull(&cli.ledger, key.as_deref(), fmt),
        Command::Push { url, key, ca } => remote_cmd::push(&cli.ledger, &url, &key, ca, fmt),
        Command::Remote => remote_cmd::show(&cli.ledger, fmt),
    }
}

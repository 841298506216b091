//! The `vouch` binary: parse arguments, run, map the outcome to an exit code.

mod cli;

use clap::Parser as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("vouch: error: internal error: {info}");
        eprintln!("vouch: hint: this is a bug in vouch; please report it with the command you ran");
    }));
    let cli = match cli::args::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli::run(cli) {
        Ok(cli::Outcome::Ok) => ExitCode::SUCCESS,
        Ok(cli::Outcome::Problem) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vouch: error: {}", e.message());
            if let Some(h) = e.hint_text() {
                eprintln!("vouch: hint: {h}");
            }
            ExitCode::from(2)
        }
    }
}

//! The `vouch` binary: parse arguments, run, map the outcome to an exit code (all in
//! [`cli::main`]).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

//! The `winsim` binary: the command line over winsim's built-in scenarios.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    winsim_cli::main(winsim_cli::Catalogue::builtin())
}

use clap::{CommandFactory, Parser};

fn main() {
    // `COMPLETE=bash aacon …` answers shell completion requests and exits.
    clap_complete::CompleteEnv::with_factory(aacon::cli::Cli::command).complete();
    let cli = aacon::cli::Cli::parse_from(aacon::cli::argv(std::env::args_os()));
    std::process::exit(aacon::cli::run(cli));
}

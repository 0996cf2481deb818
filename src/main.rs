use clap::Parser;

fn main() {
    let cli = aacon::cli::Cli::parse();
    std::process::exit(aacon::cli::run(cli));
}

//! Writes screenshots/*.svg from the real render code:
//! `cargo run --example screenshots [DIR]`.

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "screenshots".into());
    match aacon::tui::screenshots::write_all(std::path::Path::new(&dir)) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
        }
        Err(e) => {
            eprintln!("screenshots: {e}");
            std::process::exit(1);
        }
    }
}

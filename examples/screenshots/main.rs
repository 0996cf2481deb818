//! Writes screenshots/*.svg from the real render code:
//! `cargo run --example screenshots [DIR]`. The scenes are fixture state
//! (`aacon::tui::fixtures`, the `fixtures` feature tests and examples turn
//! on); `svg.rs` writes a buffer as SVG. Neither ships in the binary.

mod scenes;
mod svg;

// Under `cargo test` (this example's tests run with the suite) the harness
// has its own main.
#[cfg_attr(test, allow(dead_code))]
fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "screenshots".into());
    match scenes::write_all(std::path::Path::new(&dir)) {
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

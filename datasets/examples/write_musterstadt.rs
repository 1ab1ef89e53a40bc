//! Writes the Musterstadt demo files.
//!
//! `cargo run -p allmende-datasets --example write_musterstadt -- <dir> [seed]`

use std::path::PathBuf;

use allmende_datasets::musterstadt;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "data/musterstadt".to_owned()));
    let seed = match args.next() {
        Some(seed) => seed.parse()?,
        None => musterstadt::DEFAULT_SEED,
    };
    let files = musterstadt::write_to(&dir, seed)?;
    for path in [
        &files.services,
        &files.offices,
        &files.population,
        &files.register,
    ] {
        println!("{}", path.display());
    }
    Ok(())
}

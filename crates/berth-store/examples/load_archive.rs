//! Times loading an image archive into a fresh store:
//! `cargo run --release -p berth-store --example load_archive -- <archive.tar> <empty-store-dir>`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(archive), Some(root)) = (args.next(), args.next()) else {
        return Err("usage: load_archive <archive.tar> <empty-store-dir>".into());
    };
    let store = berth_store::Store::open(std::path::Path::new(&root))?;
    let started = Instant::now();
    let images = store.load_archive(std::fs::File::open(&archive)?)?;
    let elapsed = started.elapsed();
    for image in &images {
        let size: u64 = store
            .disk_usage(&berth_store::images::NoUsers)?
            .images
            .iter()
            .map(|i| i.size)
            .sum();
        println!("{} {:?} unpacked {} bytes", image.id, image.repo_tags, size);
    }
    println!(
        "loaded {} image(s) in {:.3}s",
        images.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

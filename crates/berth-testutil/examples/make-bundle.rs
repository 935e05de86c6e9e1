//! `make-bundle ARCHIVE DIR ARGS...`: unpacks an OCI archive into an OCI bundle at DIR whose
//! process runs ARGS (for the demo and benchmarks; the image store will replace it).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: make-bundle ARCHIVE DIR ARGS...");
        std::process::exit(2);
    }
    let process_args: Vec<&str> = args[2..].iter().map(String::as_str).collect();
    let bundle = berth_testutil::Bundle::from_oci_archive(args[0].as_ref(), &process_args);
    let dest = std::path::Path::new(&args[1]);
    if dest.exists() {
        eprintln!("make-bundle: {} already exists", dest.display());
        std::process::exit(1);
    }
    bundle.persist(dest).expect("move bundle into place");
}

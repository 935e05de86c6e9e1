//! `berth-shim`: see the library docs; this binary only runs it.

fn main() {
    std::process::exit(berth_shim::main_entry());
}

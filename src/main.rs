//! The `vvvexplain` binary: everything happens in `cli::run`, which returns the exit code.

fn main() {
    std::process::exit(vvvexplain::cli::run());
}

//! cargo-fuzz (libFuzzer) target: the whole pipeline on arbitrary bytes, then redaction and every
//! report format. Run with `cargo +nightly fuzz run pipeline` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "body.rs"]
mod body;

fuzz_target!(|data: &[u8]| body::run(data));

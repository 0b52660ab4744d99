//! Throughput of the whole library pipeline (`vvvexplain::explain`: read → normalise → grammar →
//! timeline → verdict) on real OpenSSH client transcripts.
//!
//! ```sh
//! cargo bench --bench pipeline                  # all benches
//! cargo bench --bench pipeline -- explain/large # the large log only
//! ```
//!
//! Inputs:
//! * `typical-failure`: `rules/auth-key-rejected/fixtures/ssh-vvv.log` (an `ssh -vvv` whose key
//!   is refused, the everyday case);
//! * `success-sftp`: `rules/ok/fixtures/sftp-vvv.log` (a successful `sftp -vvv` session);
//! * `typical-timed`: `rules/slow-auth-server/fixtures/ssh-vvv-timed.log` (an `ssh -vvv` with a
//!   time on every line, as `ts` or VS Code print it);
//! * `large`: a large transfer log. The file named by `VVV_BENCH_BIG`, else
//!   `/tmp/vvv-big/big-20mb.log` (real `sftp -vvv` transfer transcripts from
//!   `tests/lab/lab.py --big-transfer`, concatenated), its first 10 MiB read into memory; when
//!   neither exists, the committed `rules/ok/fixtures/sftp-vvv.log` repeated to 10 MiB. The
//!   bench never needs a file outside the repository. One long session whose every request line
//!   differs (the harder case: a third of its lines are events for the grammar) is recorded by
//!   `tests/lab/lab.py --big-transfer real.log --size-mb 140 --buffer-bytes 2048` (21 MB).
//!
//! The built-in rules are compiled once, outside the timed loop, except in
//! `explain_with_rule_loading`, which measures a one-shot run of the CLI's library work.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, SamplingMode,
    Throughput,
};
use vvvexplain::rules::RuleSet;

/// Where the large input is looked for when `VVV_BENCH_BIG` is not set.
const DEFAULT_BIG: &str = "/tmp/vvv-big/big-20mb.log";
/// Size of the in-memory large input: a bigger file is cut (at a line end) to this, so one
/// sample stays a few seconds even at today's throughput.
const BIG_BYTES: usize = 10 * 1024 * 1024;

fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Repeats `unit` (each copy ending in a newline) until `target` bytes are reached.
fn repeat_to(unit: &[u8], target: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + unit.len() + 1);
    while out.len() < target {
        out.extend_from_slice(unit);
        if !unit.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// The large input and a label saying where it came from.
fn large_input() -> (String, Vec<u8>) {
    let path = std::env::var_os("VVV_BENCH_BIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BIG));
    match std::fs::read(&path) {
        Ok(mut bytes) if !bytes.is_empty() => {
            if bytes.len() > BIG_BYTES {
                let end = bytes[..BIG_BYTES]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(BIG_BYTES, |at| at + 1);
                bytes.truncate(end);
            }
            (format!("file-{}", path.display()), bytes)
        }
        _ => (
            "synthetic-sftp-10MiB".to_owned(),
            repeat_to(&fixture("rules/ok/fixtures/sftp-vvv.log"), BIG_BYTES),
        ),
    }
}

fn builtin_rules() -> RuleSet {
    RuleSet::builtin().unwrap_or_else(|e| panic!("the built-in rules do not load:\n{e}"))
}

fn lines_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

fn run(input: &[u8], rules: &RuleSet) {
    let verdict = vvvexplain::explain(input, rules).expect("reading from memory cannot fail");
    black_box(verdict);
}

fn small_inputs() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "typical-failure",
            fixture("rules/auth-key-rejected/fixtures/ssh-vvv.log"),
        ),
        ("success-sftp", fixture("rules/ok/fixtures/sftp-vvv.log")),
        (
            "typical-timed",
            fixture("rules/slow-auth-server/fixtures/ssh-vvv-timed.log"),
        ),
    ]
}

/// Benches `input` twice, so criterion reports both rates: `<name>/bytes` (MiB/s) and
/// `<name>/lines` (lines/s, shown as elements/s).
fn bench_both_rates(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, input: &[u8]) {
    let rules = builtin_rules();
    let rates = [
        ("bytes", Throughput::Bytes(input.len() as u64)),
        ("lines", Throughput::Elements(lines_in(input) as u64)),
    ];
    for (unit, throughput) in rates {
        group.throughput(throughput);
        group.bench_with_input(BenchmarkId::new(name, unit), input, |b, input| {
            b.iter(|| run(black_box(input), &rules))
        });
    }
}

fn bench_transcripts(c: &mut Criterion) {
    let mut group = c.benchmark_group("explain");
    group.measurement_time(Duration::from_secs(3));
    for (name, input) in small_inputs() {
        eprintln!("{name}: {} bytes, {} lines", input.len(), lines_in(&input));
        bench_both_rates(&mut group, name, &input);
    }
    group.finish();
}

fn bench_large(c: &mut Criterion) {
    let (name, input) = large_input();
    eprintln!(
        "large: {name}: {} bytes, {} lines",
        input.len(),
        lines_in(&input)
    );
    let mut group = c.benchmark_group("explain");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_millis(500));
    // Ten samples of a 10 MiB input (~0.1 s each today).
    group.measurement_time(Duration::from_secs(5));
    bench_both_rates(&mut group, &format!("large-{name}"), &input);
    group.finish();
}

fn bench_with_rule_loading(c: &mut Criterion) {
    let mut group = c.benchmark_group("explain_with_rule_loading");
    group.measurement_time(Duration::from_secs(3));
    let (name, input) = small_inputs().swap_remove(0);
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_with_input(BenchmarkId::from_parameter(name), &input, |b, input| {
        b.iter(|| {
            let rules = builtin_rules();
            run(black_box(input), &rules)
        })
    });
    group.finish();
    c.bench_function("rules_builtin_load", |b| {
        b.iter(|| black_box(builtin_rules()))
    });
}

criterion_group!(
    benches,
    bench_transcripts,
    bench_large,
    bench_with_rule_loading
);
criterion_main!(benches);

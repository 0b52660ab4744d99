//! A libFuzzer-free driver for the `pipeline` fuzz target body, for machines without nightly:
//! runs every file given (or every file in the directories given), then mutates them at random
//! for `--seconds N` (default 60), catching panics and saving each crashing input to
//! `fuzz/artifacts/pipeline_stable/`.

use std::panic;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "body.rs"]
mod body;

fn main() {
    let mut seconds = 60u64;
    let mut inputs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            seconds = args
                .next()
                .and_then(|s| s.parse().ok())
                .expect("--seconds N");
        } else {
            collect(Path::new(&arg), &mut inputs);
        }
    }
    let seeds: Vec<Vec<u8>> = inputs
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    assert!(!seeds.is_empty(), "give seed files or directories");
    panic::set_hook(Box::new(|_| {}));
    let out = PathBuf::from("fuzz/artifacts/pipeline_stable");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    let (mut execs, mut crashes) = (0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut i = 0usize;
    while i < seeds.len() || Instant::now() < deadline {
        let input = if i < seeds.len() {
            seeds[i].clone()
        } else {
            mutate(&seeds, &mut rng)
        };
        i += 1;
        execs += 1;
        if let Err(e) = panic::catch_unwind(|| body::run(&input)) {
            crashes += 1;
            let message = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            std::fs::create_dir_all(&out).expect("artifacts dir");
            let path = out.join(format!("crash-{execs}"));
            std::fs::write(&path, &input).expect("write crash");
            eprintln!("CRASH {}: {message}", path.display());
        }
    }
    println!("executions: {execs}, crashes: {crashes}");
    if crashes > 0 {
        std::process::exit(1);
    }
}

fn collect(path: &Path, inputs: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for entry in entries {
            collect(&entry, inputs);
        }
    } else {
        inputs.push(path.to_path_buf());
    }
}

/// xorshift64*: no dependency, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b" ",
    b":",
    b"[",
    b"]",
    b"'",
    b"\"",
    b"@",
    b"/",
    b"\\",
    b"%",
    b"debug1: ",
    b"debug3: ",
    b"port ",
    b"22",
    b"-1",
    b"18446744073709551616",
    b"\xff\xfe",
    b"\xe2\x80\x94",
    b"\x1b[31m",
    b"SHA256:",
    b"MD5:",
    b"::1",
    b"127.0.0.1",
    b"/home/",
    b"/root",
    b"C:\\\\Users\\\\",
    b"Authenticating to ",
    b"Connecting to ",
    b"expecting ",
    b"Authenticated to ",
    b"channel 0: ",
    b"Permission denied",
    b"Connection closed by ",
    b"OpenSSH_9.2p1",
    b"SSH2_MSG_KEXINIT",
    b"{host}",
    b"{user}",
    b"\t",
    b"\0",
];

fn mutate(seeds: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        let at = rng.below(data.len() + 1);
        match rng.below(8) {
            0 if !data.is_empty() => {
                let end = (at + rng.below(64)).min(data.len());
                data.drain(at.min(end)..end);
            }
            1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(at..at, token.iter().copied());
            }
            2 if at < data.len() => data[at] = rng.next() as u8,
            3 => {
                // Splice in a slice of another seed: lines from one log inside another.
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let to = (from + rng.below(400)).min(other.len());
                data.splice(at..at, other[from..to].iter().copied());
            }
            4 if !data.is_empty() => {
                // Duplicate a chunk (repeated lines, long lines).
                let from = rng.below(data.len());
                let to = (from + rng.below(200)).min(data.len());
                let chunk: Vec<u8> = data[from..to].to_vec();
                for _ in 0..=rng.below(4) {
                    data.splice(at..at, chunk.iter().copied());
                }
            }
            5 => data.truncate(at),
            6 if data.len() < 64 * 1024 => {
                // The whole input over again: past the lines a classifier reads before it
                // remembers line shapes.
                let copy = data.clone();
                for _ in 0..=rng.below(4) {
                    data.extend_from_slice(&copy);
                }
            }
            _ => {
                let digits = rng.next().to_string();
                data.splice(at..at, digits.bytes());
            }
        }
    }
    data
}

//! The recorded `sftp -vvv` session that the tests of long transfer logs build them from.

/// `rules/ok/fixtures/sftp-vvv.log`, as recorded.
pub fn transcript() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules/ok/fixtures/sftp-vvv.log"
    );
    std::fs::read_to_string(path).expect("the fixture is readable")
}

/// The debug lines of `transcript` no event matches: the routine lines of a transfer log.
pub fn routine_lines(transcript: &str) -> Vec<&str> {
    transcript
        .lines()
        .filter(|line| {
            line.starts_with("debug") && vvvexplain::event::classify(line).event.is_other()
        })
        .collect()
}

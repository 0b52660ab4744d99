//! A throwaway sshd on 127.0.0.1 for the tests that run the real clients through vvvexplain: it
//! runs from a folder of the test's own and is ended, by its PID, with the folder, when dropped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sshd {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `/usr/sbin/sshd -D -e` with `config` (written to `dir/sshd_config`) and waits, at most
/// 10 s, until it listens on `port`.
pub fn start(dir: PathBuf, port: u16, config: &str) -> Result<Sshd, String> {
    std::fs::create_dir_all("/run/sshd").map_err(|e| e.to_string())?;
    std::fs::write(dir.join("sshd_config"), config).map_err(|e| e.to_string())?;
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let sshd = Sshd { child, port, dir };
    let until = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > until {
            return Err("sshd did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(sshd)
}

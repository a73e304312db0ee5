//! Unit tests of the parser worker (`worker.rs`).

use super::*;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

#[test]
fn watchdog_kills_only_after_the_deadline_and_not_after_disarm() {
    let dog = Watchdog::start().unwrap();
    let mut sleeper = Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn()
        .unwrap();
    // Disarmed in time: nothing happens.
    dog.arm(sleeper.id(), Instant::now() + Duration::from_millis(200));
    assert!(!dog.disarm());
    std::thread::sleep(Duration::from_millis(300));
    assert!(sleeper.try_wait().unwrap().is_none(), "killed after disarm");
    // Left armed: killed near the deadline.
    let started = Instant::now();
    dog.arm(sleeper.id(), started + Duration::from_millis(100));
    let st = sleeper.wait().unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(dog.disarm(), "fired not reported");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGKILL));
}

//! Store churn: does the embedded store's disk use level off when the number of
//! messages it holds stays the same? A running server deposits and removes
//! messages all day (callers leave them; subscribers, retention and admins remove
//! them). sled 0.34 is log-structured: a removal only marks space dead, and its
//! segment cleaner decides when to rewrite segments and give space back. This
//! tool does what a server does to the store, as fast as the store allows, and
//! prints the data directory's size as it goes, so that hours of traffic take
//! minutes. A figure-printing tool, not a test (DEVELOPERS.md: long runs are
//! tools).
//!
//! Run: `cargo bench --bench store_churn -- [--messages N] [--keep K]
//! [--every R] [--format ogg|wav] [--threads T] [--burst] [--dir PATH]`
//! (`--help` gives the defaults). Each deposit is a 7 s message (what the soak
//! leaves), stored in the given format through `SledStore`. Once the mailbox
//! holds K messages, each deposit is followed by the removal of the oldest one;
//! with `--burst`, all K are removed together, as the soak's checker does every
//! 20 s and a retention sweep does. T threads deposit and remove at once, as a
//! server's deposit threads and its admin API do. Every R deposits it prints the
//! deposits so far, the messages held, the directory's allocated and apparent
//! size, and the deposit rate. At the end it closes the store, reopens it, prints
//! the size again, and checks that the store lists the messages held and that
//! sled wrote no blob file (see `src/store/sled_chunks.rs`). Run by `cargo test
//! --all-targets` (no `--bench` argument), it does a short burst run of 350
//! deposits as a check.
//!
//! Depends on the library's store only (`SledStore`, `MailboxStore`).

use openum::media::g711::Law;
use openum::store::audio::{Format, Sound};
use openum::store::sled::SledStore;
use openum::store::{MailboxStore, NewMessage};
use std::collections::VecDeque;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

const USAGE: &str = "usage: cargo bench --bench store_churn -- [--messages N (200000)] \
[--keep K (1000)] [--every R (10000)] [--format ogg|wav] [--threads T (1)] [--burst] [--dir PATH]";

struct Args {
    messages: u64,
    keep: usize,
    every: u64,
    format: Format,
    threads: u64,
    burst: bool,
    dir: Option<PathBuf>,
    bench: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        messages: 200_000,
        keep: 1_000,
        every: 10_000,
        format: Format::Ogg,
        threads: 1,
        burst: false,
        dir: None,
        bench: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            // cargo bench passes --bench to every bench binary; cargo test does not.
            "--bench" => a.bench = true,
            "--messages" => a.messages = value()?.parse().map_err(|e| format!("{e}"))?,
            "--keep" => a.keep = value()?.parse().map_err(|e| format!("{e}"))?,
            "--every" => a.every = value()?.parse().map_err(|e| format!("{e}"))?,
            "--format" => {
                let v = value()?;
                a.format = Format::parse(&v).ok_or(format!("unknown format {v:?}"))?
            }
            "--threads" => a.threads = value()?.parse().map_err(|e| format!("{e}"))?,
            "--burst" => a.burst = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--dir" => a.dir = Some(value()?.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if !a.bench {
        // Run by `cargo test --all-targets`: a short check that the tool works
        // and that the store's data holds up, not a measurement.
        (a.messages, a.keep, a.every, a.threads, a.burst) = (350, 100, 50, 2, true);
    }
    if a.every == 0 || a.threads == 0 {
        return Err("--every and --threads must be at least 1".into());
    }
    Ok(a)
}

/// (allocated, apparent) bytes of the files under `dir`: allocated is what the
/// disk gives up (sled's files may be sparse), apparent what `ls` shows.
fn disk_use(dir: &Path) -> (u64, u64) {
    let mut total = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else {
                total.0 += m.blocks() * 512;
                total.1 += m.len();
            }
        }
    }
    total
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// Seven seconds of two tones at speech level, so that Opus has work to do.
fn seven_seconds() -> Sound {
    Sound::narrow(
        (0..7 * 8000)
            .map(|i| {
                let t = i as f64 / 8000.0;
                ((t * 440.0 * std::f64::consts::TAU).sin() * 8000.0
                    + (t * 1320.0 * std::f64::consts::TAU).sin() * 3000.0) as i16
            })
            .collect(),
    )
}

fn open(dir: &Path) -> SledStore {
    // sled releases its lock file from a background thread after the last
    // handle drops, so a reopen in the same process may wait briefly.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match SledStore::open(dir) {
            Ok(s) => return s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("cannot open the store in {}: {e}", dir.display()),
        }
    }
}

/// One deposit, then removals of the oldest until at most `keep` are held (or,
/// with `--burst`, of all of them once `keep` are held).
fn churn_one(store: &SledStore, sound: &Sound, a: &Args, held: &Mutex<VecDeque<String>>, n: u64) {
    let msg = NewMessage {
        mailbox: "1001".into(),
        caller_id: "5551234".into(),
        caller_name: None,
        received_at: SystemTime::now(),
        duration_ms: 7000,
        codec: Law::A,
        call_id: format!("churn-{n}"),
        forwarded_by: None,
        format: a.format,
    };
    let meta = store.deposit(msg, sound).expect("deposit");
    let due: Vec<String> = {
        let mut h = held.lock().unwrap();
        h.push_back(meta.id);
        if a.burst && h.len() >= a.keep {
            // As the soak's checker and a purge do: everything at once, while
            // the other threads go on depositing.
            h.drain(..).collect()
        } else if !a.burst && h.len() > a.keep {
            let n = h.len() - a.keep;
            h.drain(..n).collect()
        } else {
            Vec::new()
        }
    };
    for id in due {
        store.remove(&id).expect("remove");
    }
}

#[derive(Default)]
struct Report {
    last: (Option<Instant>, u64),
    peak: u64,
}

impl Report {
    fn print(&mut self, dir: &Path, n: u64, held: usize) {
        let (alloc, apparent) = disk_use(dir);
        self.peak = self.peak.max(alloc);
        let now = Instant::now();
        let since = self
            .last
            .0
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        let rate = n.saturating_sub(self.last.1) as f64 / since.max(1e-9);
        self.last = (Some(now), n);
        println!(
            "{n:>8}  {held:>4}  {:>13.1}  {:>16.1}  {rate:>14.0}",
            mb(alloc),
            mb(apparent)
        );
    }
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("store_churn: {e}");
            std::process::exit(2);
        }
    };
    let tmp;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir().expect("a temporary directory");
            tmp.path().join("data")
        }
    };
    let sound = seven_seconds();
    let store = open(&dir);
    let held: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
    let next = AtomicU64::new(1);
    let report = Mutex::new(Report::default());
    println!(
        "store_churn: {} deposits of 7 s ({:?}), {} kept, {} thread(s), in {}",
        a.messages,
        a.format,
        a.keep,
        a.threads,
        dir.display()
    );
    println!("deposits  held  disk_alloc_mb  disk_apparent_mb  deposits_per_s");
    let t0 = Instant::now();
    report.lock().unwrap().last = (Some(t0), 0);
    std::thread::scope(|scope| {
        for _ in 0..a.threads {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n > a.messages {
                        break;
                    }
                    churn_one(&store, &sound, &a, &held, n);
                    let done = n == a.messages;
                    if n.is_multiple_of(a.every) || done {
                        report
                            .lock()
                            .unwrap()
                            .print(&dir, n, held.lock().unwrap().len());
                    }
                }
            });
        }
    });
    let peak = report.lock().unwrap().peak;
    let held = held.into_inner().unwrap().len();
    let elapsed = t0.elapsed().as_secs_f64();
    drop(store);
    let store = open(&dir);
    let listed = store.list("1001").expect("list").len();
    let blob_files = std::fs::read_dir(dir.join("blobs")).map_or(0, |d| d.count());
    let (alloc, apparent) = disk_use(&dir);
    println!(
        "done: {} deposits in {elapsed:.0} s; peak {:.1} MB; after reopening: {listed} listed, {:.1} MB allocated, {:.1} MB apparent, {blob_files} files in blobs/",
        a.messages,
        mb(peak),
        mb(alloc),
        mb(apparent)
    );
    assert_eq!(listed, held, "the store lists what was kept");
    // sled writes a value or page past 128 KiB to blobs/ and may never delete it
    // (src/store/sled_chunks.rs): the store keeps every value small instead.
    assert_eq!(blob_files, 0, "no value went to sled's blob files");
}

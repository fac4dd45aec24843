//! `openum mailbox greeting import|export|remove`: a mailbox's personal greeting,
//! away greeting or recorded name as a file (what Exchange admins did with
//! Import-RecipientDataProperty / Export-RecipientDataProperty). WAV and Ogg/Opus
//! files are kept as given; other readable formats are converted to WAV. Straight
//! on the store when the server is stopped, through its admin API when it runs
//! (the next call plays the new greeting).

use super::{Access, Common, access, http_get, load_config};
use clap::Subcommand;
use openum::store::audio::Format;
use openum::store::greeting;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum GreetingCmd {
    /// Keep a file (WAV, Ogg/Opus as given; MP3, FLAC, Vorbis converted) as the
    /// mailbox's greeting of that kind.
    Import {
        #[command(flatten)]
        common: Common,
        extension: String,
        /// personal, away or name.
        #[arg(long, default_value = "personal")]
        kind: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Write the greeting as it is kept (the file's format, whatever --out says
    /// is refused if it differs).
    Export {
        #[command(flatten)]
        common: Common,
        extension: String,
        #[arg(long, default_value = "personal")]
        kind: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Remove the greeting (callers hear the system greeting again).
    Remove {
        #[command(flatten)]
        common: Common,
        extension: String,
        #[arg(long, default_value = "personal")]
        kind: String,
    },
}

fn url_for(url: &str, ext: &str, kind: &str) -> String {
    format!("{url}/api/mailboxes/{ext}/greetings/{kind}")
}

fn http_error(url: &str, e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(_, r) => {
            let v: serde_json::Value = r.into_json().unwrap_or_default();
            v["error"].as_str().unwrap_or("refused").to_string()
        }
        e => format!("the server's admin API at {url} is not reachable: {e}"),
    }
}

pub fn run(cmd: GreetingCmd) -> Result<(), String> {
    match cmd {
        GreetingCmd::Import {
            common,
            extension,
            kind,
            file,
        } => {
            let k = greeting::parse_kind(&kind)?;
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let name = file.display().to_string();
            let (format, size) = match access(&common.data)? {
                Access::Direct(s) => {
                    let cfg = load_config(&common)?;
                    greeting::put(&s, &cfg.directory, &extension, k, &name, bytes)?
                }
                Access::Remote(url) => {
                    let u = url_for(&url, &extension, &kind);
                    let v: serde_json::Value = super::request("PUT", &u)
                        .query("file", &name)
                        .send_bytes(&bytes)
                        .map_err(|e| http_error(&u, e))?
                        .into_json()
                        .map_err(|e| e.to_string())?;
                    let f = v["format"]
                        .as_str()
                        .and_then(Format::parse)
                        .unwrap_or(Format::Wav);
                    (f, v["bytes"].as_u64().unwrap_or(0) as usize)
                }
            };
            println!("{extension}: {kind} greeting kept as {format:?} ({size} bytes)");
            Ok(())
        }
        GreetingCmd::Export {
            common,
            extension,
            kind,
            out,
        } => {
            let k = greeting::parse_kind(&kind)?;
            let (format, bytes) = match access(&common.data)? {
                Access::Direct(s) => {
                    let cfg = load_config(&common)?;
                    greeting::get(&s, &cfg.directory, &extension, k)?
                        .ok_or_else(|| format!("{extension} has no {kind} greeting"))?
                }
                Access::Remote(url) => {
                    let r = http_get(&url_for(&url, &extension, &kind))?;
                    let f = if r.content_type() == "audio/ogg" {
                        Format::Ogg
                    } else {
                        Format::Wav
                    };
                    let mut v = Vec::new();
                    std::io::Read::read_to_end(&mut r.into_reader(), &mut v)
                        .map_err(|e| e.to_string())?;
                    (f, v)
                }
            };
            let want = out
                .extension()
                .and_then(|e| e.to_str())
                .and_then(Format::parse);
            if want.is_some_and(|w| w != format) {
                return Err(format!(
                    "the {kind} greeting of {extension} is kept as {format:?}: name the file .{}",
                    if format == Format::Ogg { "ogg" } else { "wav" }
                ));
            }
            std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            println!("wrote {} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
        GreetingCmd::Remove {
            common,
            extension,
            kind,
        } => {
            let k = greeting::parse_kind(&kind)?;
            match access(&common.data)? {
                Access::Direct(s) => {
                    let cfg = load_config(&common)?;
                    greeting::remove(&s, &cfg.directory, &extension, k)?;
                }
                Access::Remote(url) => {
                    let u = url_for(&url, &extension, &kind);
                    super::request("DELETE", &u)
                        .call()
                        .map_err(|e| http_error(&u, e))?;
                }
            }
            println!("{extension}: {kind} greeting removed");
            Ok(())
        }
    }
}

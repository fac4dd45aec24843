//! `openum autoattendant new|set|get|remove|import-greeting`: the
//! New-/Set-/Get-/Remove-UMAutoAttendant cmdlets and custom greetings. Changes go
//! to `DATA/autoattendants.toml` (laid over the configuration at every load),
//! are validated with the whole configuration before they are written (a refusal
//! names the object and field), and reach a running server at once.

use super::{Common, config_text, load_config};
use clap::Subcommand;
use openum::config::{Config, overlay};
use openum::ivr::prompts;
use openum::media::import;

#[derive(Subcommand)]
pub enum AaCmd {
    /// New-UMAutoAttendant: name (no spaces), dial plan, pilot numbers.
    New {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        dial_plan: String,
        /// Pilot identifiers, comma-separated.
        #[arg(long)]
        pilots: String,
        /// Enabled or Disabled.
        #[arg(long, default_value = "Enabled")]
        status: String,
        #[arg(long)]
        speech_enabled: bool,
        #[arg(long)]
        time_zone: Option<String>,
        #[arg(long)]
        operator: Option<String>,
        #[arg(long)]
        language: Option<String>,
    },
    /// Set-UMAutoAttendant: change what is given, keep the rest.
    Set {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        pilots: Option<String>,
        #[arg(long)]
        time_zone: Option<String>,
        #[arg(long)]
        operator: Option<String>,
        #[arg(long)]
        input_failures: Option<u32>,
        /// Business hours, e.g. "Mon-Fri 08:00-18:00" (repeat; replaces the list).
        #[arg(long)]
        business_hours: Vec<String>,
        /// A business-hours key: 1=transfer:1001, 3=leave_message:1003,
        /// 7=dial_by_name, 4=attendant:OtherAA, 5=announcement:PROMPT (repeat;
        /// replaces the list).
        #[arg(long = "business-key")]
        business_keys: Vec<String>,
        /// An after-hours key, as --business-key.
        #[arg(long = "after-hours-key")]
        after_hours_keys: Vec<String>,
        #[arg(long)]
        dial_by_extension: Option<bool>,
    },
    /// Get-UMAutoAttendant: one attendant, or all.
    Get {
        #[command(flatten)]
        common: Common,
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Remove-UMAutoAttendant.
    Remove {
        #[command(flatten)]
        common: Common,
        name: String,
    },
    /// Import a greeting from an audio file (WAV, FLAC, MP3, Ogg; any rate) and use
    /// it: --kind business, after-hours, business-menu, after-hours-menu, info, or
    /// holiday:NAME (that holiday's greeting).
    ImportGreeting {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

fn status_enabled(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "enabled" => Ok(true),
        "disabled" => Ok(false),
        _ => Err(format!("--status {s:?}: use Enabled or Disabled")),
    }
}

fn list(s: &str) -> toml::Value {
    toml::Value::Array(
        s.split(',')
            .map(|p| toml::Value::String(p.trim().to_string()))
            .filter(|v| v.as_str() != Some(""))
            .collect(),
    )
}

/// `1=transfer:1001` → `{ key = "1", transfer = "1001" }`.
fn key_table(spec: &str) -> Result<toml::Value, String> {
    let bad = || {
        format!(
            "{spec:?}: write KEY=transfer:EXT, leave_message:EXT, attendant:NAME, announcement:PROMPT or dial_by_name"
        )
    };
    let (key, action) = spec.split_once('=').ok_or_else(bad)?;
    let mut t = toml::map::Map::new();
    t.insert("key".into(), toml::Value::String(key.trim().into()));
    match action.trim().split_once(':') {
        Some((kind, arg))
            if ["transfer", "leave_message", "attendant", "announcement"].contains(&kind) =>
        {
            t.insert(kind.into(), toml::Value::String(arg.trim().into()));
        }
        None if action.trim() == "dial_by_name" => {
            t.insert("dial_by_name".into(), toml::Value::Boolean(true));
        }
        _ => return Err(bad()),
    }
    Ok(toml::Value::Table(t))
}

pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Tell a running server to take the change.
pub(crate) fn reload(common: &Common) -> Result<Option<()>, String> {
    let Some(r) = super::admin_cli::running(&common.data) else {
        return Ok(None);
    };
    let url = format!("{}/api/autoattendants/reload", r.admin_url);
    match ureq::post(&url).call() {
        Ok(_) => Ok(Some(())),
        Err(ureq::Error::Status(_, resp)) => Err(format!(
            "the running server refused the change: {}",
            resp.into_string().unwrap_or_default()
        )),
        Err(e) => Err(format!(
            "the server's admin API at {url} is not reachable: {e}"
        )),
    }
}

/// Change the attendants' overlay with `f` (see [`edit_overlay`]).
fn edit(
    common: &Common,
    f: impl FnOnce(&str, &mut Vec<toml::Value>, &mut Vec<String>) -> Result<String, String>,
) -> Result<(), String> {
    edit_overlay(common, overlay::ATTENDANTS, f)
}

/// Change the overlay of `kind` with `f` (given the configuration text, the
/// overlay's objects and removed names; it says what it did), validate the
/// whole configuration with every overlay, write, and have a running server
/// reload it.
pub(crate) fn edit_overlay(
    common: &Common,
    kind: overlay::Kind,
    f: impl FnOnce(&str, &mut Vec<toml::Value>, &mut Vec<String>) -> Result<String, String>,
) -> Result<(), String> {
    let path = overlay::path_of(kind, &common.data);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (mut objects, mut removed) = overlay::load_kind(kind, &text).map_err(|e| e.to_string())?;
    let (base, what) = config_text(common)?;
    let done = f(&base, &mut objects, &mut removed)?;
    let new_text = overlay::render_kind(kind, &objects, &removed);
    // The other overlay as it stands on disk, this one as it will be.
    let layer = |k: overlay::Kind| {
        if k.file == kind.file {
            Some(new_text.clone())
        } else {
            std::fs::read_to_string(overlay::path_of(k, &common.data)).ok()
        }
    };
    let (aas, mbs) = (layer(overlay::ATTENDANTS), layer(overlay::MAILBOXES));
    let custom = prompts::custom_names(&prompts::custom_dir(&common.data));
    Config::parse_layers(
        &base,
        aas.as_deref(),
        mbs.as_deref(),
        &|n| custom.iter().any(|c| c == n),
        &|_| vec!["127.0.0.1".parse().expect("an IP literal")],
    )
    .map_err(|e| format!("refused ({what} with the change): {e}"))?;
    write_atomic(&path, new_text.as_bytes())?;
    match reload(common)? {
        Some(()) => println!("{done} (in effect now)"),
        None => println!("{done}; it takes effect when the service starts"),
    }
    Ok(())
}

/// The overlay's table for `name`, copied from the configuration if needed.
fn table_for<'a>(
    base: &str,
    aas: &'a mut Vec<toml::Value>,
    name: &str,
) -> Result<&'a mut toml::map::Map<String, toml::Value>, String> {
    let pos = match aas
        .iter()
        .position(|a| a.get("name").and_then(|n| n.as_str()) == Some(name))
    {
        Some(p) => p,
        None => {
            let t = overlay::base_attendant(base, name)
                .ok_or_else(|| format!("no auto attendant {name:?}"))?;
            aas.push(t);
            aas.len() - 1
        }
    };
    aas[pos]
        .as_table_mut()
        .ok_or_else(|| format!("auto attendant {name:?} is not a table"))
}

pub fn run(cmd: AaCmd) -> Result<(), String> {
    match cmd {
        AaCmd::New {
            common,
            name,
            dial_plan,
            pilots,
            status,
            speech_enabled,
            time_zone,
            operator,
            language,
        } => {
            let enabled = status_enabled(&status)?;
            if load_config(&common)?
                .directory
                .auto_attendants
                .iter()
                .any(|a| a.name == name)
            {
                return Err(format!("auto attendant {name:?} exists: use set"));
            }
            edit(&common, |_, aas, removed| {
                removed.retain(|r| r != &name);
                let mut t = toml::map::Map::new();
                t.insert("name".into(), toml::Value::String(name.clone()));
                t.insert("dial_plan".into(), toml::Value::String(dial_plan));
                t.insert("pilots".into(), list(&pilots));
                t.insert("enabled".into(), toml::Value::Boolean(enabled));
                t.insert(
                    "speech_enabled".into(),
                    toml::Value::Boolean(speech_enabled),
                );
                for (k, v) in [
                    ("time_zone", time_zone),
                    ("operator", operator),
                    ("language", language),
                ] {
                    if let Some(v) = v {
                        t.insert(k.into(), toml::Value::String(v));
                    }
                }
                aas.push(toml::Value::Table(t));
                Ok(format!("auto attendant {name} created"))
            })
        }
        AaCmd::Set {
            common,
            name,
            status,
            pilots,
            time_zone,
            operator,
            input_failures,
            business_hours,
            business_keys,
            after_hours_keys,
            dial_by_extension,
        } => {
            let enabled = status.as_deref().map(status_enabled).transpose()?;
            let bk = business_keys
                .iter()
                .map(|k| key_table(k))
                .collect::<Result<Vec<_>, _>>()?;
            let ak = after_hours_keys
                .iter()
                .map(|k| key_table(k))
                .collect::<Result<Vec<_>, _>>()?;
            edit(&common, |base, aas, _| {
                let t = table_for(base, aas, &name)?;
                if let Some(e) = enabled {
                    t.insert("enabled".into(), toml::Value::Boolean(e));
                }
                if let Some(p) = pilots {
                    t.insert("pilots".into(), list(&p));
                }
                if let Some(z) = time_zone {
                    t.insert("time_zone".into(), toml::Value::String(z));
                }
                if let Some(o) = operator {
                    t.insert("operator".into(), toml::Value::String(o));
                }
                if let Some(n) = input_failures {
                    t.insert("input_failures".into(), toml::Value::Integer(n.into()));
                }
                if !business_hours.is_empty() {
                    let v = business_hours
                        .into_iter()
                        .map(toml::Value::String)
                        .collect();
                    t.insert("business_hours".into(), toml::Value::Array(v));
                }
                if !bk.is_empty() {
                    t.insert("business_keys".into(), toml::Value::Array(bk));
                }
                if !ak.is_empty() {
                    t.insert("after_hours_keys".into(), toml::Value::Array(ak));
                }
                if let Some(d) = dial_by_extension {
                    t.insert("dial_by_extension".into(), toml::Value::Boolean(d));
                }
                Ok(format!("auto attendant {name} changed"))
            })
        }
        AaCmd::Get { common, name, json } => {
            let cfg = load_config(&common)?;
            let aas: Vec<_> = cfg
                .directory
                .auto_attendants
                .iter()
                .filter(|a| name.as_ref().is_none_or(|n| &a.name == n))
                .collect();
            if let Some(n) = &name
                && aas.is_empty()
            {
                return Err(format!("no auto attendant {n:?}"));
            }
            if json {
                return super::print_json(&aas);
            }
            println!(
                "{:<16} {:<10} {:<9} {:<14} {:<18} KEYS (BUSINESS HOURS)",
                "NAME", "DIALPLAN", "STATUS", "PILOTS", "TIME ZONE"
            );
            for a in aas {
                let keys: Vec<String> = a
                    .business_keys
                    .iter()
                    .map(|k| format!("{}:{:?}", k.key, k.action))
                    .collect();
                println!(
                    "{:<16} {:<10} {:<9} {:<14} {:<18} {}",
                    a.name,
                    a.dial_plan,
                    if a.enabled { "Enabled" } else { "Disabled" },
                    a.pilots.join(","),
                    a.time_zone,
                    keys.join(" ")
                );
            }
            Ok(())
        }
        AaCmd::Remove { common, name } => {
            let in_base = {
                let (base, _) = config_text(&common)?;
                overlay::base_attendant(&base, &name).is_some()
            };
            edit(&common, |_, aas, removed| {
                let before = aas.len();
                aas.retain(|a| a.get("name").and_then(|n| n.as_str()) != Some(name.as_str()));
                if in_base && !removed.contains(&name) {
                    removed.push(name.clone());
                } else if before == aas.len() {
                    return Err(format!("no auto attendant {name:?}"));
                }
                Ok(format!("auto attendant {name} removed"))
            })
        }
        AaCmd::ImportGreeting {
            common,
            name,
            kind,
            file,
        } => {
            let holiday = kind.strip_prefix("holiday:").map(str::to_string);
            let field = match kind.as_str() {
                _ if holiday.is_some() => "holiday",
                "business" => "business",
                "after-hours" => "after_hours",
                "business-menu" => "business_menu",
                "after-hours-menu" => "after_hours_menu",
                "info" => "info",
                other => {
                    return Err(format!(
                        "--kind {other:?}: use business, after-hours, business-menu, after-hours-menu, info or holiday:NAME"
                    ));
                }
            };
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let samples =
                import::to_prompt(&file.display().to_string(), bytes).map_err(|e| e.to_string())?;
            let prompt = format!("{name}-{}", kind.replace(':', "-"));
            let dest = prompts::custom_dir(&common.data).join(format!("{prompt}.wav"));
            write_atomic(&dest, &import::wav_bytes(&samples))?;
            println!(
                "imported {} as prompt {prompt} ({:.1} s, 8 kHz mono)",
                file.display(),
                samples.len() as f64 / import::RATE as f64
            );
            edit(&common, |base, aas, _| {
                let t = table_for(base, aas, &name)?;
                if let Some(h) = &holiday {
                    let day = t
                        .get_mut("holidays")
                        .and_then(|v| v.as_array_mut())
                        .and_then(|a| {
                            a.iter_mut()
                                .find(|x| x.get("name").and_then(|n| n.as_str()) == Some(h))
                        })
                        .and_then(|x| x.as_table_mut())
                        .ok_or_else(|| format!("auto attendant {name:?} has no holiday {h:?}"))?;
                    day.insert("greeting".into(), toml::Value::String(prompt.clone()));
                    return Ok(format!(
                        "auto attendant {name} uses {prompt} on holiday {h}"
                    ));
                }
                let g = t
                    .entry("greetings")
                    .or_insert_with(|| toml::Value::Table(Default::default()));
                let Some(g) = g.as_table_mut() else {
                    return Err("greetings must be a table".into());
                };
                g.insert(field.into(), toml::Value::String(prompt.clone()));
                Ok(format!(
                    "auto attendant {name} uses {prompt} as its {kind} greeting"
                ))
            })
        }
    }
}

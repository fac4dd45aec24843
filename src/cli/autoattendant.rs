//! `openum autoattendant new|set|get|list|remove|import-greeting`: the
//! New-/Set-/Get-/Remove-UMAutoAttendant cmdlets and custom greetings. Changes
//! go through `super::change` (validated with the whole model, atomic, live on
//! a running server). `new --pilots P --gateway G` makes the hunt groups the
//! pilots need on G; without `--gateway` a pilot no hunt group carries is
//! refused, saying so.

use super::{Common, change, load_config, model_doc};
use clap::Subcommand;
use openum::config::change::Kind;
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
        /// The IP gateway the pilots' calls come from: hunt groups for pilots
        /// no hunt group carries are made on it.
        #[arg(long)]
        gateway: Option<String>,
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
    /// Every auto attendant (as `get` without a name).
    List {
        #[command(flatten)]
        common: Common,
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

/// Tell a running server to re-read imported prompts (and the model).
fn reload_prompts(common: &Common) -> Result<(), String> {
    if let Some(r) = super::running(&common.data) {
        super::http_post(
            &format!("{}/api/autoattendants/reload", r.admin_url),
            serde_json::json!({}),
        )?;
    }
    Ok(())
}

/// Change an attendant's table with `f` (it says what it did): the whole table
/// goes back as the update.
fn edit(
    common: &Common,
    name: &str,
    f: impl FnOnce(&mut toml::map::Map<String, toml::Value>) -> Result<String, String>,
) -> Result<(), String> {
    let doc = model_doc(common)?;
    let mut t = openum::config::change::object(&doc, Kind::AutoAttendant, name)
        .cloned()
        .ok_or_else(|| format!("no auto attendant {name:?}"))?;
    let done = f(&mut t)?;
    let set = openum::config::change::to_json(&toml::Value::Table(t));
    let c = serde_json::json!({"op": "update", "kind": "auto_attendant", "key": name, "set": set});
    change(common, c, serde_json::Value::Null, false)?.say(&done);
    Ok(())
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
            gateway,
        } => {
            let enabled = status_enabled(&status)?;
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
            let object = openum::config::change::to_json(&toml::Value::Table(t));
            let c = serde_json::json!({"op": "create", "kind": "auto_attendant", "object": object, "gateway": gateway});
            let how = change(&common, c, serde_json::Value::Null, false)?;
            let hgs: Vec<&str> = how.answer()["done"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"] == "hunt_group")
                .filter_map(|d| d["name"].as_str())
                .collect();
            let extra = match hgs.is_empty() {
                true => String::new(),
                false => format!(" with hunt group(s) {}", hgs.join(", ")),
            };
            how.say(&format!("auto attendant {name} created{extra}"));
            Ok(())
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
            edit(&common, &name.clone(), |t| {
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
        AaCmd::List { common, json } => run(AaCmd::Get {
            common,
            name: None,
            json,
        }),
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
        AaCmd::Remove { common, name } => super::remove(
            &common,
            Kind::AutoAttendant,
            &name,
            &format!("auto attendant {name} removed"),
        ),
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
            edit(&common, &name.clone(), |t| {
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
            })?;
            reload_prompts(&common)
        }
    }
}

//! `openum service get|set|drain|set-startup-mode|show` (Get-/Set-UMService,
//! the drain). `set KEY=VALUE…` changes `[service]` settings of the model
//! (validated whole; most take effect at the next start, as in Exchange).

use super::*;
use openum::config::{Role, StartupMode};

#[derive(Subcommand)]
pub enum ServiceCmd {
    /// Set UMStartupMode (TCP, TLS or Dual), for one role (Set-UMCallRouterSettings
    /// for the router) or, without --role, for every role that has none of its own.
    /// Takes effect when the service restarts.
    SetStartupMode {
        #[command(flatten)]
        common: Common,
        mode: String,
        #[arg(long)]
        role: Option<String>,
    },
    /// Stop taking calls (OPTIONS and INVITE get 503), let the calls in progress
    /// complete, then exit. Same as SIGTERM.
    Drain {
        #[command(flatten)]
        common: Common,
    },
    /// Show the startup mode in effect and the one the next start will use.
    Show {
        #[command(flatten)]
        common: Common,
    },
    /// Get-UMService: the `[service]` settings of the model.
    Get {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Set-UMService: KEY=VALUE pairs (TOML values: max_calls_allowed=50,
    /// locale="fr-FR" or locale=fr-FR); KEY= returns a setting to its default.
    Set {
        #[command(flatten)]
        common: Common,
        #[arg(required = true)]
        settings: Vec<String>,
    },
}

/// `KEY=VALUE` as a JSON value: TOML first (numbers, booleans, arrays), else a string.
fn setting(pair: &str) -> Result<(String, serde_json::Value), String> {
    let (k, v) = pair
        .split_once('=')
        .ok_or_else(|| format!("{pair:?}: write KEY=VALUE"))?;
    if v.is_empty() {
        return Ok((k.to_string(), serde_json::Value::Null));
    }
    let parsed: Result<toml::Table, _> = toml::from_str(&format!("v = {v}"));
    let value = match parsed.ok().and_then(|t| t.get("v").cloned()) {
        Some(t) => openum::config::change::to_json(&t),
        None => serde_json::Value::String(v.to_string()),
    };
    Ok((k.to_string(), value))
}

pub fn run(cmd: ServiceCmd) -> Result<(), String> {
    match cmd {
        ServiceCmd::Get { common, json } => {
            let doc = model_doc(&common)?;
            let svc = doc
                .get("service")
                .cloned()
                .unwrap_or(toml::Value::Table(Default::default()));
            let v = openum::config::change::to_json(&svc);
            if json {
                return print_json(&v);
            }
            for (k, x) in v.as_object().into_iter().flatten() {
                println!("{k:<34} {x}");
            }
            Ok(())
        }
        ServiceCmd::Set { common, settings } => {
            let mut set = serde_json::Map::new();
            for p in &settings {
                let (k, v) = setting(p)?;
                set.insert(k, v);
            }
            let c = serde_json::json!({"op": "service", "set": set});
            change(&common, c, serde_json::Value::Null, false)?.say("service settings changed");
            Ok(())
        }
        ServiceCmd::Drain { common } => {
            let r =
                running(&common.data).ok_or_else(|| "the service is not running".to_string())?;
            let url = format!("{}/api/service/drain", r.admin_url);
            let v: serde_json::Value = super::request("POST", &url)
                .call()
                .map_err(|e| format!("{url}: {e}"))?
                .into_json()
                .map_err(|e| e.to_string())?;
            println!(
                "draining (pid {}): {} call(s) in progress; new calls get 503; the service exits when they end",
                r.pid, v["calls_in_progress"]
            );
            Ok(())
        }
        ServiceCmd::SetStartupMode { common, mode, role } => {
            let m = StartupMode::parse(&mode)
                .ok_or_else(|| format!("unknown startup mode {mode:?}: use TCP, TLS or Dual"))?;
            let role = match role {
                Some(r) => Some(Role::parse(&r).ok_or_else(|| {
                    format!("unknown role {r:?}: use router, mailbox or combined")
                })?),
                None => None,
            };
            let mut s = server::load_settings(&common.data)?;
            match role {
                Some(r) => {
                    s.startup_modes.insert(r, m);
                }
                None => s.startup_mode = Some(m),
            }
            server::save_settings(&common.data, &s)?;
            let who = role.map_or("every role".to_string(), |r| {
                format!("the {} role", r.name())
            });
            println!("UMStartupMode {m:?} for {who}.");
            match running(&common.data) {
                Some(r) if r.startup_mode != m && role.is_none_or(|x| x == r.role) => println!(
                    "UMStartupMode set to {m:?}. The running service (pid {}) keeps {:?}: restart it for the change to take effect.",
                    r.pid, r.startup_mode
                ),
                Some(_) => println!("UMStartupMode set to {m:?} (already in effect)."),
                None => {
                    println!("UMStartupMode set to {m:?}; it takes effect when the service starts.")
                }
            }
            Ok(())
        }
        ServiceCmd::Show { common } => {
            let cfg = load_config(&common)?;
            let settings = server::load_settings(&common.data)?;
            let next = |role: Role| {
                settings
                    .startup_mode_for(role)
                    .unwrap_or(cfg.service.startup_mode)
            };
            match running(&common.data) {
                Some(r) => println!(
                    "running: role {}, {:?} (pid {}), next start: {:?}",
                    r.role.name(),
                    r.startup_mode,
                    r.pid,
                    next(r.role)
                ),
                None => println!(
                    "not running, next start: router {:?}, mailbox {:?}, combined {:?}",
                    next(Role::Router),
                    next(Role::Mailbox),
                    next(Role::Combined)
                ),
            }
            Ok(())
        }
    }
}

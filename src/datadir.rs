//! The data directory's files besides the store: `runtime.json` (the running
//! server's pid, ports and admin URL, for the CLI and tests) and `service.json`
//! (startup modes set by `openum service set-startup-mode`, read at start;
//! gateway changes of earlier versions, taken into the model at the first
//! start). Paths only, and small JSON files written whole (temp + rename).

use crate::config::{GatewayChange, Role, StartupMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `runtime.json` holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Runtime {
    pub pid: u32,
    /// UDP/TCP SIP port, 0 when the startup mode is TLS.
    pub sip_port: u16,
    /// TLS SIP port, 0 when the startup mode is TCP.
    pub sip_tls_port: u16,
    pub admin_url: String,
    /// The admin API over HTTPS, when it listens there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_tls_url: Option<String>,
    pub startup_mode: StartupMode,
    #[serde(default = "combined")]
    pub role: Role,
}

fn combined() -> Role {
    Role::Combined
}

/// Settings changed by the CLI that outlive the config file (`service.json`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Settings {
    /// `set-startup-mode` without `--role`: every role that has none of its own.
    pub startup_mode: Option<StartupMode>,
    /// `set-startup-mode --role R` (Set-UMCallRouterSettings for the router).
    #[serde(default)]
    pub startup_modes: BTreeMap<Role, StartupMode>,
    /// `openum gateway set`, by gateway name.
    #[serde(default)]
    pub gateways: BTreeMap<String, GatewayChange>,
}

impl Settings {
    pub fn startup_mode_for(&self, role: Role) -> Option<StartupMode> {
        self.startup_modes.get(&role).copied().or(self.startup_mode)
    }
}

pub fn runtime_path(data: &Path) -> PathBuf {
    data.join("runtime.json")
}

pub fn store_path(data: &Path) -> PathBuf {
    data.join("store")
}

pub fn settings_path(data: &Path) -> PathBuf {
    data.join("service.json")
}

pub fn load_settings(data: &Path) -> Result<Settings, String> {
    match std::fs::read_to_string(settings_path(data)) {
        Ok(t) => {
            serde_json::from_str(&t).map_err(|e| format!("{}: {e}", settings_path(data).display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
        Err(e) => Err(format!("{}: {e}", settings_path(data).display())),
    }
}

pub fn save_settings(data: &Path, s: &Settings) -> Result<(), String> {
    std::fs::create_dir_all(data).map_err(|e| e.to_string())?;
    let tmp = data.join("service.json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_string_pretty(s).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    std::fs::rename(tmp, settings_path(data)).map_err(|e| e.to_string())
}

//! `openum gateway new|set|get|list|remove` (New-/Set-/Get-/Remove-UMIPGateway,
//! Enable-/Disable-UMIPGateway through `--status`). `list` shows each gateway's
//! OPTIONS probe state when the server runs.

use super::*;
use clap::Subcommand;
use openum::config::change::Kind;

#[derive(clap::Args, Clone)]
pub struct Fields {
    /// IP address or FQDN (resolved now, then cached).
    #[arg(long)]
    address: Option<String>,
    /// The FQDN its TLS certificate carries (and that may be resolved).
    #[arg(long)]
    fqdn: Option<String>,
    /// Where it listens (probes and outcalls go there).
    #[arg(long)]
    port: Option<u16>,
    /// udp, tcp or tls.
    #[arg(long)]
    transport: Option<String>,
    /// Its default hunt group sends every call to this dial plan.
    #[arg(long)]
    dial_plan: Option<String>,
    #[arg(long)]
    outcalls_allowed: Option<bool>,
    /// Enabled, Disabled (new calls refused) or NoNewCalls (calls in progress
    /// finish, new ones refused).
    #[arg(long)]
    status: Option<String>,
    /// MessageWaitingIndicatorAllowed.
    #[arg(long)]
    mwi_allowed: Option<bool>,
    #[arg(long)]
    max_calls: Option<u32>,
}

impl Fields {
    fn set(self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        put(&mut m, "address", self.address);
        put(&mut m, "fqdn", self.fqdn);
        put(&mut m, "port", self.port);
        put(&mut m, "transport", self.transport);
        put(&mut m, "dial_plan", self.dial_plan);
        put(&mut m, "outcalls_allowed", self.outcalls_allowed);
        put(&mut m, "status", self.status);
        put(
            &mut m,
            "message_waiting_indicator_allowed",
            self.mwi_allowed,
        );
        put(&mut m, "max_calls", self.max_calls);
        m
    }
}

#[derive(Subcommand)]
pub enum GatewayCmd {
    /// New-UMIPGateway NAME --address A|--fqdn F [--port P] [--dial-plan D] ….
    New {
        #[command(flatten)]
        common: Common,
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    /// Set-UMIPGateway: change what is given, keep the rest.
    Set {
        #[command(flatten)]
        common: Common,
        name: String,
        #[command(flatten)]
        fields: Fields,
    },
    Get {
        #[command(flatten)]
        common: Common,
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List IP gateways with their OPTIONS status (live when the server runs).
    List {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        json: bool,
    },
    /// Remove-UMIPGateway (refused while hunt groups use it).
    Remove {
        #[command(flatten)]
        common: Common,
        name: String,
    },
}

pub fn run(cmd: GatewayCmd) -> Result<(), String> {
    let none = serde_json::Value::Null;
    let (common, json) = match cmd {
        GatewayCmd::List { common, json } => (common, json),
        GatewayCmd::New {
            common,
            name,
            fields,
        } => {
            let mut obj = fields.set();
            obj.insert("name".into(), name.clone().into());
            match (obj.get("address").cloned(), obj.get("fqdn").cloned()) {
                (None, Some(f)) => {
                    obj.insert("address".into(), f);
                }
                (None, None) => return Err("gateway new needs --address or --fqdn".into()),
                _ => {}
            }
            let c = serde_json::json!({"op": "create", "kind": "ip_gateway", "object": obj});
            change(&common, c, none, false)?.say(&format!("UM IP gateway {name} created"));
            return Ok(());
        }
        GatewayCmd::Set {
            common,
            name,
            fields,
        } => {
            let done = format!("UM IP gateway {name} changed");
            return update(&common, Kind::Gateway, &name, fields.set(), &done);
        }
        GatewayCmd::Get { common, name, json } => {
            return show_object(&common, Kind::Gateway, Some(&name), json);
        }
        GatewayCmd::Remove { common, name } => {
            let done = format!("UM IP gateway {name} removed");
            return remove(&common, Kind::Gateway, &name, &done);
        }
    };
    let cfg = load_config(&common)?;
    let live: Option<Vec<serde_json::Value>> = match running(&common.data) {
        Some(r) => Some(
            http_get(&format!("{}/api/gateways", r.admin_url))?
                .into_json()
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    if json {
        let v = match live {
            Some(l) => serde_json::Value::Array(l),
            None => serde_json::to_value(&cfg.directory.gateways).map_err(|e| e.to_string())?,
        };
        return print_json(&v);
    }
    println!(
        "{:<16} {:<24} {:>5} {:<5} {:<12} LAST ANSWER",
        "NAME", "ADDRESS", "PORT", "VIA", "STATUS"
    );
    for g in &cfg.directory.gateways {
        let st = live
            .as_ref()
            .and_then(|l| l.iter().find(|x| x["name"] == g.name.as_str()));
        let status = match st.map(|s| &s["reachable"]) {
            None => "not running".to_string(),
            Some(serde_json::Value::Bool(true)) => "reachable".into(),
            Some(serde_json::Value::Bool(false)) => "UNREACHABLE".into(),
            Some(_) => "probing".into(),
        };
        let last = st.and_then(|s| s["last_answer"].as_str()).unwrap_or("-");
        println!(
            "{:<16} {:<24} {:>5} {:<5} {:<12} {last}",
            g.name,
            g.address,
            g.port,
            format!("{:?}", g.transport),
            status
        );
    }
    Ok(())
}

//! `openum calls` (Get-UMActiveCalls): the calls in progress on the running
//! server: gateway, dial plan, dialed number, call type, calling and diversion
//! numbers, call state, menu step, codec, security, duration.

use super::{Common, http_get, print_json, running};

#[derive(clap::Args)]
pub struct CallsArgs {
    #[command(flatten)]
    common: Common,
    #[arg(long)]
    json: bool,
}

pub fn run(a: CallsArgs) -> Result<(), String> {
    let r = running(&a.common.data).ok_or("the service is not running: no calls in progress")?;
    let v: Vec<serde_json::Value> = http_get(&format!("{}/api/calls", r.admin_url))?
        .into_json()
        .map_err(|e| e.to_string())?;
    if a.json {
        return print_json(&v);
    }
    println!(
        "{:<12} {:<10} {:<8} {:<18} {:<12} {:<10} {:<22} {:<6} {:<5} {:>5}",
        "GATEWAY",
        "DIAL PLAN",
        "DIALED",
        "TYPE",
        "CALLING",
        "DIVERSION",
        "STEP",
        "CODEC",
        "SEC",
        "SECS"
    );
    for c in &v {
        let s = |k: &str| c[k].as_str().unwrap_or("-").to_string();
        println!(
            "{:<12} {:<10} {:<8} {:<18} {:<12} {:<10} {:<22} {:<6} {:<5} {:>5}",
            s("gateway"),
            s("dial_plan"),
            s("dialed_number"),
            s("call_type"),
            s("calling_number"),
            s("diversion_number"),
            s("menu_step"),
            s("codec"),
            s("security"),
            c["duration_secs"].to_string()
        );
    }
    println!("{} call(s) in progress", v.len());
    Ok(())
}

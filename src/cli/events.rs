//! `openum events [--follow] [--event NAME] [--json]`: the running server's
//! recent structured events; `--follow` keeps printing new ones as they come.

use super::{Common, http_get, running};

#[derive(clap::Args)]
pub struct EventsArgs {
    #[command(flatten)]
    common: Common,
    /// Keep printing events as they happen (Ctrl-C ends).
    #[arg(long)]
    follow: bool,
    /// Only events of this name (e.g. call_rejected).
    #[arg(long)]
    event: Option<String>,
    /// At most this many at first (the newest).
    #[arg(long, default_value_t = 50)]
    last: usize,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

fn fetch(url: &str, after: u64, event: Option<&str>) -> Result<Vec<serde_json::Value>, String> {
    let mut u = format!("{url}/api/events?after={after}&limit=10000");
    if let Some(e) = event {
        u.push_str(&format!("&event={e}"));
    }
    http_get(&u)?.into_json().map_err(|e| e.to_string())
}

fn show(e: &serde_json::Value, json: bool) {
    if json {
        println!("{e}");
        return;
    }
    let fields: Vec<String> = e["fields"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            v => format!("{k}={v}"),
        })
        .collect();
    println!(
        "{} {:<5} {} {}",
        e["at"].as_str().unwrap_or(""),
        e["level"].as_str().unwrap_or(""),
        e["event"].as_str().unwrap_or(""),
        fields.join(" ")
    );
}

pub fn run(a: EventsArgs) -> Result<(), String> {
    let r = running(&a.common.data).ok_or("the service is not running")?;
    let first = fetch(&r.admin_url, 0, a.event.as_deref())?;
    let skip = first.len().saturating_sub(a.last);
    let mut after = first.last().and_then(|e| e["seq"].as_u64()).unwrap_or(0);
    for e in &first[skip..] {
        show(e, a.json);
    }
    if !a.follow {
        return Ok(());
    }
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        for e in fetch(&r.admin_url, after, a.event.as_deref())? {
            after = e["seq"].as_u64().unwrap_or(after);
            show(&e, a.json);
        }
    }
}

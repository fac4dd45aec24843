//! IP gateway addresses: DNS resolution (seed 004: at start and whenever a gateway's
//! configuration changes, then cached; never per call) and run-time changes
//! (`openum gateway set`, Set-UMIPGateway). The resolver is a function the caller
//! passes in, so tests need no DNS.

use super::{ConfigError, invalid};
use crate::directory::{Directory, GatewayState};
use serde::Deserialize;
use std::net::IpAddr;

/// A run-time change to an IP gateway (`openum gateway set`, Set-UMIPGateway):
/// kept in the data dir so it outlives restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct GatewayChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GatewayState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcalls_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
}

impl GatewayChange {
    /// The change as `[[ip_gateway]]` fields of the model document.
    pub fn fields(&self) -> Vec<(&'static str, toml::Value)> {
        let mut out = Vec::new();
        if let Some(s) = self.status {
            let name = match s {
                GatewayState::Enabled => "Enabled",
                GatewayState::Disabled => "Disabled",
                GatewayState::NoNewCalls => "NoNewCalls",
            };
            out.push(("status", toml::Value::String(name.into())));
        }
        if let Some(o) = self.outcalls_allowed {
            out.push(("outcalls_allowed", toml::Value::Boolean(o)));
        }
        if let Some(a) = &self.address {
            out.push(("address", toml::Value::String(a.clone())));
        }
        if let Some(f) = &self.fqdn {
            out.push(("fqdn", toml::Value::String(f.clone())));
        }
        out
    }

    /// Later settings win field by field.
    pub fn merge(&mut self, later: &GatewayChange) {
        if later.status.is_some() {
            self.status = later.status;
        }
        if later.outcalls_allowed.is_some() {
            self.outcalls_allowed = later.outcalls_allowed;
        }
        if later.address.is_some() {
            self.address.clone_from(&later.address);
        }
        if later.fqdn.is_some() {
            self.fqdn.clone_from(&later.fqdn);
        }
    }
}

/// Apply a change to a gateway of `dir`. A new address or FQDN is resolved now
/// (seed 004: on every configuration change, never per call); the resolutions are
/// returned for the `gateway_resolved` event.
pub fn change_gateway(
    dir: &mut Directory,
    name: &str,
    change: &GatewayChange,
    resolve: &dyn Fn(&str) -> Vec<IpAddr>,
) -> Result<Vec<Resolution>, ConfigError> {
    let Some(g) = dir.gateways.iter_mut().find(|g| g.name == name) else {
        return Err(invalid("ip_gateway", name, "name", "no such IP gateway"));
    };
    let mut log = Vec::new();
    if change.address.is_some() || change.fqdn.is_some() {
        let address = change.address.clone().unwrap_or_else(|| g.address.clone());
        let fqdn = change.fqdn.clone().or_else(|| g.fqdn.clone());
        let (resolved, l) = resolve_gateway(name, &address, fqdn.as_deref(), resolve)?;
        g.address = address;
        g.fqdn = fqdn;
        g.resolved = resolved;
        log = l;
    }
    if let Some(s) = change.status {
        g.status = s;
    }
    if let Some(o) = change.outcalls_allowed {
        g.outcalls_allowed = o;
    }
    Ok(log)
}

/// DNS through the system resolver (for gateway FQDNs; at start and on changes).
pub fn system_resolve(name: &str) -> Vec<IpAddr> {
    use std::net::ToSocketAddrs;
    (name, 5060)
        .to_socket_addrs()
        .map(|it| it.map(|a| a.ip()).collect())
        .unwrap_or_default()
}

/// One DNS resolution of a gateway name, for the `gateway_resolved` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub gateway: String,
    pub name: String,
    pub addresses: Vec<IpAddr>,
}

/// Resolve a gateway's address (an IP literal or an FQDN) and its TLS FQDN into the
/// addresses its requests come from; seed 004: done at start and whenever the
/// gateway's configuration changes, then cached (never per call).
pub fn resolve_gateway(
    gateway: &str,
    address: &str,
    fqdn: Option<&str>,
    resolve: &dyn Fn(&str) -> Vec<IpAddr>,
) -> Result<(Vec<IpAddr>, Vec<Resolution>), ConfigError> {
    let mut log = Vec::new();
    let mut resolved = match address.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            let r = resolve(address);
            log.push(Resolution {
                gateway: gateway.to_string(),
                name: address.to_string(),
                addresses: r.clone(),
            });
            if r.is_empty() {
                return Err(invalid(
                    "ip_gateway",
                    gateway,
                    "address",
                    format!("{address:?} does not resolve"),
                ));
            }
            r
        }
    };
    if let Some(f) = fqdn {
        if f.is_empty() || f.contains(char::is_whitespace) {
            return Err(invalid(
                "ip_gateway",
                gateway,
                "fqdn",
                "must be a host name",
            ));
        }
        let r = resolve(f);
        log.push(Resolution {
            gateway: gateway.to_string(),
            name: f.to_string(),
            addresses: r.clone(),
        });
        for ip in r {
            if !resolved.contains(&ip) {
                resolved.push(ip);
            }
        }
    }
    Ok((resolved, log))
}

/// One `gateway_resolved` event per resolution (WARN when a name gave no address).
pub fn log_resolutions(list: &[Resolution]) {
    for r in list {
        let addresses: Vec<String> = r.addresses.iter().map(|a| a.to_string()).collect();
        if addresses.is_empty() {
            tracing::warn!(event = "gateway_resolved", gateway = %r.gateway, name = %r.name, result = "no address");
        } else {
            tracing::info!(event = "gateway_resolved", gateway = %r.gateway, name = %r.name, result = %addresses.join(","));
        }
    }
}

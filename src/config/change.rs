//! Changes to the object model, made on its document (the TOML form the store
//! keeps and `openum config export` prints): create, update, remove one object,
//! change service settings, replace the whole model (import), or several of
//! these as one change (an auto attendant with the hunt group its pilot needs).
//!
//! Applying a change only edits the document and refuses what the document alone
//! shows wrong (no such object, a duplicate, an object still in use, named by its
//! users); the caller then validates the whole result with [`super::Config::parse_value`],
//! by the rules used at start. Pure: no IO, no clock.

use super::ConfigError;
use toml::Value;
use toml::map::Map;

/// A kind of UM object: its array in the document and the field naming one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Policy,
    DialPlan,
    Gateway,
    HuntGroup,
    AutoAttendant,
    Mailbox,
    MailboxNode,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Policy,
        Kind::DialPlan,
        Kind::Gateway,
        Kind::HuntGroup,
        Kind::AutoAttendant,
        Kind::Mailbox,
        Kind::MailboxNode,
    ];

    /// The document's array (and the name validation errors use).
    pub fn array(self) -> &'static str {
        match self {
            Kind::Policy => "mailbox_policy",
            Kind::DialPlan => "dial_plan",
            Kind::Gateway => "ip_gateway",
            Kind::HuntGroup => "hunt_group",
            Kind::AutoAttendant => "auto_attendant",
            Kind::Mailbox => "mailbox",
            Kind::MailboxNode => "mailbox_node",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Kind::Mailbox => "extension",
            _ => "name",
        }
    }

    /// How messages name it.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Policy => "UM mailbox policy",
            Kind::DialPlan => "UM dial plan",
            Kind::Gateway => "UM IP gateway",
            Kind::HuntGroup => "UM hunt group",
            Kind::AutoAttendant => "UM auto attendant",
            Kind::Mailbox => "UM mailbox",
            Kind::MailboxNode => "mailbox node",
        }
    }

    /// Its collection in the REST API (`/api/<path>`).
    pub fn path(self) -> &'static str {
        match self {
            Kind::Policy => "policies",
            Kind::DialPlan => "dialplans",
            Kind::Gateway => "gateways",
            Kind::HuntGroup => "huntgroups",
            Kind::AutoAttendant => "autoattendants",
            Kind::Mailbox => "mailboxes",
            Kind::MailboxNode => "nodes",
        }
    }

    pub fn from_path(p: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.path() == p)
    }

    pub fn from_array(a: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.array() == a)
    }
}

/// One change to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new object (its key field included).
    Create {
        kind: Kind,
        object: Map<String, Value>,
    },
    /// Set fields of an object (`set`), and take others back to their defaults
    /// (`unset`); its key cannot change.
    Update {
        kind: Kind,
        key: String,
        set: Map<String, Value>,
        unset: Vec<String>,
    },
    /// Remove an object; refused while others use it.
    Remove { kind: Kind, key: String },
    /// Set or unset `[service]` fields (most take effect at the next start).
    Service {
        set: Map<String, Value>,
        unset: Vec<String>,
    },
    /// The whole model (`openum config import`).
    Replace { doc: Value },
    /// New-UMAutoAttendant with the hunt groups its pilots need, made on
    /// `gateway` (see [`attendant_with_hunt_groups`]).
    CreateAttendant {
        object: Map<String, Value>,
        gateway: Option<String>,
    },
    /// Several changes, applied in order, committed as one.
    Many(Vec<Change>),
}

/// Why a change was refused before validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("no {} {key:?}", kind.noun())]
    NotFound { kind: Kind, key: String },
    #[error("{} {key:?} exists already: use set to change it", kind.noun())]
    Exists { kind: Kind, key: String },
    #[error("{} {key:?} is in use by {}: change or remove those first", kind.noun(), users.join(", "))]
    InUse {
        kind: Kind,
        key: String,
        users: Vec<String>,
    },
    /// The object (or the model with the change) breaks a rule; names object and field.
    #[error("{0}")]
    Invalid(ConfigError),
}

impl From<ConfigError> for ChangeError {
    fn from(e: ConfigError) -> Self {
        ChangeError::Invalid(e)
    }
}

/// What one part of a change did, for the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// create, update, remove, service, import.
    pub action: &'static str,
    /// The document's array name, `service` or `model`.
    pub kind: &'static str,
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn invalid(kind: Kind, name: &str, field: &'static str, problem: impl Into<String>) -> ChangeError {
    ChangeError::Invalid(ConfigError::Invalid {
        kind: kind.array(),
        name: name.to_string(),
        field,
        problem: problem.into(),
    })
}

/// The objects of `kind` in a document.
pub fn objects(doc: &Value, kind: Kind) -> Vec<&Map<String, Value>> {
    doc.get(kind.array())
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_table).collect())
        .unwrap_or_default()
}

/// The objects of `kind` as JSON, ordered by name or extension (what the API
/// and the CLI list).
pub fn objects_json(doc: &Value, kind: Kind) -> Vec<serde_json::Value> {
    let mut v: Vec<_> = objects(doc, kind)
        .into_iter()
        .map(|t| to_json(&Value::Table(t.clone())))
        .collect();
    v.sort_by(|a, b| a[kind.key()].as_str().cmp(&b[kind.key()].as_str()));
    v
}

fn key_of(kind: Kind, t: &Map<String, Value>) -> Option<&str> {
    t.get(kind.key()).and_then(Value::as_str)
}

/// One object of a document.
pub fn object<'a>(doc: &'a Value, kind: Kind, key: &str) -> Option<&'a Map<String, Value>> {
    objects(doc, kind)
        .into_iter()
        .find(|t| key_of(kind, t) == Some(key))
}

fn array_mut(doc: &mut Value, kind: Kind) -> Result<&mut Vec<Value>, ChangeError> {
    let table = doc.as_table_mut().ok_or_else(|| {
        ChangeError::Invalid(ConfigError::Schema("the model is not a table".into()))
    })?;
    table
        .entry(kind.array())
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| {
            ChangeError::Invalid(ConfigError::Schema(format!(
                "{} is not an array",
                kind.array()
            )))
        })
}

fn str_field<'a>(t: &'a Map<String, Value>, f: &str) -> Option<&'a str> {
    t.get(f).and_then(Value::as_str)
}

/// The auto attendants' key mappings that name `target` in field `field`.
fn aa_keys_naming(doc: &Value, field: &str, target: &str) -> Vec<String> {
    let mut out = Vec::new();
    for a in objects(doc, Kind::AutoAttendant) {
        let name = key_of(Kind::AutoAttendant, a).unwrap_or("?");
        let mut hit = false;
        for list in ["business_keys", "after_hours_keys"] {
            for k in a.get(list).and_then(Value::as_array).into_iter().flatten() {
                if k.get(field).and_then(Value::as_str) == Some(target) {
                    hit = true;
                }
            }
        }
        if field == "transfer" && str_field(a, "operator") == Some(target) {
            hit = true;
        }
        if hit {
            out.push(format!("auto attendant {name}"));
        }
    }
    out
}

/// What uses the object (`hunt group CorpHG`, `mailbox 6001`, …): removing it
/// would leave them dangling.
pub fn users(doc: &Value, kind: Kind, key: &str) -> Vec<String> {
    let by = |k: Kind, field: &str, label: &str| -> Vec<String> {
        objects(doc, k)
            .into_iter()
            .filter(|t| str_field(t, field) == Some(key))
            .map(|t| format!("{label} {}", key_of(k, t).unwrap_or("?")))
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    match kind {
        Kind::Policy => {
            out.extend(by(Kind::DialPlan, "mailbox_policy", "dial plan"));
            out.extend(by(Kind::Mailbox, "policy", "mailbox"));
        }
        Kind::DialPlan => {
            out.extend(by(Kind::Gateway, "dial_plan", "IP gateway"));
            out.extend(by(Kind::HuntGroup, "dial_plan", "hunt group"));
            out.extend(by(Kind::AutoAttendant, "dial_plan", "auto attendant"));
            out.extend(by(Kind::Mailbox, "dial_plan", "mailbox"));
        }
        Kind::Gateway => out.extend(by(Kind::HuntGroup, "gateway", "hunt group")),
        Kind::AutoAttendant => out.extend(
            aa_keys_naming(doc, "attendant", key)
                .into_iter()
                .filter(|u| u != &format!("auto attendant {key}")),
        ),
        Kind::Mailbox => {
            let mut v = aa_keys_naming(doc, "transfer", key);
            for u in aa_keys_naming(doc, "leave_message", key) {
                if !v.contains(&u) {
                    v.push(u);
                }
            }
            out.extend(v);
        }
        Kind::HuntGroup | Kind::MailboxNode => {}
    }
    out
}

/// Apply `change` to a copy of `doc`: the new document and what was done.
pub fn apply(doc: &Value, change: &Change) -> Result<(Value, Vec<Done>), ChangeError> {
    let mut out = doc.clone();
    let mut done = Vec::new();
    apply_into(&mut out, change, &mut done)?;
    Ok((out, done))
}

fn apply_into(doc: &mut Value, change: &Change, done: &mut Vec<Done>) -> Result<(), ChangeError> {
    match change {
        Change::Create { kind, object: obj } => {
            let kind = *kind;
            let Some(key) = key_of(kind, obj).map(str::to_string) else {
                return Err(invalid(kind, "", kind_key_static(kind), "is required"));
            };
            if key.trim().is_empty() {
                return Err(invalid(
                    kind,
                    &key,
                    kind_key_static(kind),
                    "must not be empty",
                ));
            }
            if object(doc, kind, &key).is_some() {
                return Err(ChangeError::Exists { kind, key });
            }
            array_mut(doc, kind)?.push(Value::Table(obj.clone()));
            done.push(Done {
                action: "create",
                kind: kind.array(),
                name: key,
                before: None,
                after: Some(Value::Table(obj.clone())),
            });
        }
        Change::Update {
            kind,
            key,
            set,
            unset,
        } => {
            let kind = *kind;
            if let Some(v) = set.get(kind.key())
                && v.as_str() != Some(key.as_str())
            {
                return Err(invalid(
                    kind,
                    key,
                    kind_key_static(kind),
                    "cannot be changed: create a new object and remove this one",
                ));
            }
            if unset.iter().any(|f| f == kind.key()) {
                return Err(invalid(kind, key, kind_key_static(kind), "cannot be unset"));
            }
            let list = array_mut(doc, kind)?;
            let Some(t) = list
                .iter_mut()
                .filter_map(Value::as_table_mut)
                .find(|t| key_of(kind, t) == Some(key.as_str()))
            else {
                return Err(ChangeError::NotFound {
                    kind,
                    key: key.clone(),
                });
            };
            let before = t.clone();
            for f in unset {
                t.remove(f);
            }
            for (k, v) in set {
                t.insert(k.clone(), v.clone());
            }
            done.push(Done {
                action: "update",
                kind: kind.array(),
                name: key.clone(),
                before: Some(Value::Table(before)),
                after: Some(Value::Table(t.clone())),
            });
        }
        Change::Remove { kind, key } => {
            let kind = *kind;
            if object(doc, kind, key).is_none() {
                return Err(ChangeError::NotFound {
                    kind,
                    key: key.clone(),
                });
            }
            let users = users(doc, kind, key);
            if !users.is_empty() {
                return Err(ChangeError::InUse {
                    kind,
                    key: key.clone(),
                    users,
                });
            }
            let list = array_mut(doc, kind)?;
            let pos = list
                .iter()
                .position(|v| v.as_table().and_then(|t| key_of(kind, t)) == Some(key.as_str()));
            let before = pos.map(|p| list.remove(p));
            done.push(Done {
                action: "remove",
                kind: kind.array(),
                name: key.clone(),
                before,
                after: None,
            });
        }
        Change::Service { set, unset } => {
            let table = doc.as_table_mut().ok_or_else(|| {
                ChangeError::Invalid(ConfigError::Schema("the model is not a table".into()))
            })?;
            let svc = table
                .entry("service")
                .or_insert_with(|| Value::Table(Map::new()))
                .as_table_mut()
                .ok_or_else(|| {
                    ChangeError::Invalid(ConfigError::Schema("service is not a table".into()))
                })?;
            let before = svc.clone();
            for f in unset {
                svc.remove(f);
            }
            for (k, v) in set {
                svc.insert(k.clone(), v.clone());
            }
            done.push(Done {
                action: "update",
                kind: "service",
                name: "service".into(),
                before: Some(Value::Table(before)),
                after: Some(Value::Table(svc.clone())),
            });
        }
        Change::Replace { doc: new } => {
            *doc = new.clone();
            done.push(Done {
                action: "import",
                kind: "model",
                name: "model".into(),
                before: None,
                after: None,
            });
        }
        Change::Many(list) => {
            for c in list {
                apply_into(doc, c, done)?;
            }
        }
        Change::CreateAttendant { object, gateway } => {
            let c = attendant_with_hunt_groups(doc, object.clone(), gateway.as_deref())?;
            apply_into(doc, &c, done)?;
        }
    }
    Ok(())
}

fn kind_key_static(kind: Kind) -> &'static str {
    kind.key()
}

/// Take the clear-text PINs out of a document's mailboxes (a configuration may
/// seed them; the model never keeps them): `(extension, pin)` pairs.
pub fn strip_pins(doc: &mut Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(list) = doc.get_mut("mailbox").and_then(Value::as_array_mut) {
        for t in list.iter_mut().filter_map(Value::as_table_mut) {
            if let Some(Value::String(p)) = t.remove("pin")
                && let Some(ext) = t.get("extension").and_then(Value::as_str)
            {
                out.push((ext.to_string(), p));
            }
        }
    }
    out
}

/// A JSON object (an API body) as a document table. JSON `null`s are dropped:
/// the caller treats them as "unset".
pub fn table_from_json(v: &serde_json::Value) -> Result<Map<String, Value>, String> {
    let serde_json::Value::Object(m) = v else {
        return Err("the body must be a JSON object".into());
    };
    let mut out = Map::new();
    for (k, v) in m {
        if v.is_null() {
            continue;
        }
        out.insert(k.clone(), value_from_json(k, v)?);
    }
    Ok(out)
}

fn value_from_json(field: &str, v: &serde_json::Value) -> Result<Value, String> {
    Ok(match v {
        serde_json::Value::Null => return Err(format!("{field}: null inside a value")),
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) => Value::Float(f),
            _ => return Err(format!("{field}: {n} is out of range")),
        },
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| value_from_json(field, x))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(_) => Value::Table(table_from_json(v)?),
    })
}

/// A document value as JSON (API answers, audit records).
pub fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Integer(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(to_json).collect()),
        Value::Table(t) => {
            serde_json::Value::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// A change in its JSON form (`POST /api/changes`, and what the CLI sends):
/// `{"op": "create", "kind": "dial_plan", "object": {…}}`, `{"op": "update",
/// "kind", "key", "set": {…}, "unset": […]}`, `{"op": "remove", "kind", "key"}`,
/// `{"op": "service", "set", "unset"}`, `{"op": "import", "toml": "…"}` (an
/// auto attendant's create may name the `gateway` its pilots' hunt groups go
/// on), or a
/// list of these (one commit). `kind` is the document's array name or the API
/// collection (`dial_plan` or `dialplans`).
pub fn from_json(v: &serde_json::Value) -> Result<Change, String> {
    if let serde_json::Value::Array(list) = v {
        return Ok(Change::Many(
            list.iter().map(from_json).collect::<Result<_, _>>()?,
        ));
    }
    let op = v["op"].as_str().ok_or("a change needs \"op\"")?;
    let kind = || -> Result<Kind, String> {
        let k = v["kind"].as_str().ok_or("the change needs \"kind\"")?;
        Kind::from_array(k)
            .or_else(|| Kind::from_path(k))
            .ok_or_else(|| format!("kind {k:?} is not an object kind"))
    };
    let key = || -> Result<String, String> {
        v["key"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "the change needs \"key\"".into())
    };
    let set_unset = || -> Result<(Map<String, Value>, Vec<String>), String> {
        let set = match &v["set"] {
            serde_json::Value::Null => Map::new(),
            s => table_from_json(s)?,
        };
        let mut unset: Vec<String> = match &v["unset"] {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .ok_or("unset lists field names")
                })
                .collect::<Result<_, _>>()?,
            _ => return Err("unset lists field names".into()),
        };
        // `"field": null` in `set` unsets it too (JSON merge patch).
        if let serde_json::Value::Object(m) = &v["set"] {
            unset.extend(
                m.iter()
                    .filter(|(_, x)| x.is_null())
                    .map(|(k, _)| k.clone()),
            );
        }
        Ok((set, unset))
    };
    Ok(match op {
        "create" if kind()? == Kind::AutoAttendant => Change::CreateAttendant {
            object: table_from_json(&v["object"])?,
            gateway: v["gateway"].as_str().map(str::to_string),
        },
        "create" => Change::Create {
            kind: kind()?,
            object: table_from_json(&v["object"])?,
        },
        "update" => {
            let (set, unset) = set_unset()?;
            Change::Update {
                kind: kind()?,
                key: key()?,
                set,
                unset,
            }
        }
        "remove" => Change::Remove {
            kind: kind()?,
            key: key()?,
        },
        "service" => {
            let (set, unset) = set_unset()?;
            Change::Service { set, unset }
        }
        "import" => {
            let text = v["toml"].as_str().ok_or("import needs \"toml\"")?;
            Change::Replace {
                doc: toml::from_str(text).map_err(|e| format!("the imported model: {e}"))?,
            }
        }
        other => {
            return Err(format!(
                "op {other:?}: use create, update, remove, service or import"
            ));
        }
    })
}

/// New-UMAutoAttendant with pilots (seed rule): each pilot must be routed to the
/// attendant's dial plan by a hunt group. A pilot no hunt group carries gets one
/// on `gateway` (`<attendant>-<pilot>`); without a gateway the creation is
/// refused, saying what is missing. A gateway linked to the dial plan routes
/// every pilot already (its default hunt group).
pub fn attendant_with_hunt_groups(
    doc: &Value,
    attendant: Map<String, Value>,
    gateway: Option<&str>,
) -> Result<Change, ChangeError> {
    let kind = Kind::AutoAttendant;
    let name = key_of(kind, &attendant).unwrap_or("").to_string();
    if name.is_empty() || name.contains(char::is_whitespace) {
        // As validation says it, before the pilots are looked at.
        return Err(invalid(
            kind,
            &name,
            "name",
            "must be non-empty without spaces",
        ));
    }
    let dial_plan = str_field(&attendant, "dial_plan").unwrap_or("").to_string();
    let pilots: Vec<String> = attendant
        .get("pilots")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let routed_by_default = objects(doc, Kind::Gateway)
        .iter()
        .any(|g| str_field(g, "dial_plan") == Some(dial_plan.as_str()));
    let mut changes = vec![Change::Create {
        kind,
        object: attendant,
    }];
    if let Some(g) = gateway
        && object(doc, Kind::Gateway, g).is_none()
    {
        return Err(ChangeError::NotFound {
            kind: Kind::Gateway,
            key: g.to_string(),
        });
    }
    for p in pilots {
        let carried = objects(doc, Kind::HuntGroup)
            .iter()
            .any(|h| str_field(h, "pilot") == Some(p.as_str()));
        if carried || routed_by_default {
            continue;
        }
        let Some(g) = gateway else {
            return Err(invalid(
                kind,
                &name,
                "pilots",
                format!(
                    "no hunt group carries pilot {p:?} to dial plan {dial_plan:?}: name the IP \
                     gateway its calls come from (--gateway) and one is created"
                ),
            ));
        };
        let mut hg = Map::new();
        hg.insert("name".into(), Value::String(format!("{name}-{p}")));
        hg.insert("gateway".into(), Value::String(g.to_string()));
        hg.insert("dial_plan".into(), Value::String(dial_plan.clone()));
        hg.insert("pilot".into(), Value::String(p.clone()));
        changes.push(Change::Create {
            kind: Kind::HuntGroup,
            object: hg,
        });
    }
    Ok(Change::Many(changes))
}

#[cfg(test)]
#[path = "change_tests.rs"]
mod tests;

//! Objects made at run time live in overlay files of the data directory, laid over
//! the configuration file at every load: auto attendants (`openum autoattendant
//! new|set|remove`) in `autoattendants.toml`, UM mailboxes (`openum mailbox
//! enable|set|disable`) in `mailboxes.toml`. An object there replaces the
//! configuration's one of the same name (extension) or adds one; `removed =
//! [names]` takes configuration ones away. Files are written whole (temp file +
//! rename).

use super::ConfigError;

/// One kind of run-time object: its overlay file, the configuration array it
/// extends and the field that names an object.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub file: &'static str,
    pub array: &'static str,
    pub key: &'static str,
}

/// `openum autoattendant new|set|remove` (New-/Set-/Remove-UMAutoAttendant).
pub const ATTENDANTS: Kind = Kind {
    file: "autoattendants.toml",
    array: "auto_attendant",
    key: "name",
};

/// `openum mailbox enable|set|disable` (Enable-/Set-/Disable-UMMailbox), by
/// extension.
pub const MAILBOXES: Kind = Kind {
    file: "mailboxes.toml",
    array: "mailbox",
    key: "extension",
};

/// The overlay's file in the data directory.
pub fn path_of(kind: Kind, data: &std::path::Path) -> std::path::PathBuf {
    data.join(kind.file)
}

/// The attendants' overlay file.
pub fn path(data: &std::path::Path) -> std::path::PathBuf {
    path_of(ATTENDANTS, data)
}

fn key_of(kind: Kind, t: &toml::Value) -> Option<&str> {
    t.get(kind.key)?.as_str()
}

/// The overlay's objects and removed names.
fn parse(kind: Kind, overlay: &str) -> Result<(Vec<toml::Value>, Vec<String>), ConfigError> {
    let o: toml::Value =
        toml::from_str(overlay).map_err(|e| ConfigError::Toml(format!("{}: {e}", kind.file)))?;
    let removed = o
        .get("removed")
        .and_then(|r| r.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let added = o
        .get(kind.array)
        .and_then(|a| a.as_array())
        .cloned()
        .unwrap_or_default();
    Ok((added, removed))
}

/// Lay an overlay of `kind` over the configuration `base`.
pub fn apply_kind(base: &mut toml::Value, kind: Kind, overlay: &str) -> Result<(), ConfigError> {
    let (added, removed) = parse(kind, overlay)?;
    let Some(table) = base.as_table_mut() else {
        return Err(ConfigError::Toml("the configuration is not a table".into()));
    };
    let list = table
        .entry(kind.array)
        .or_insert_with(|| toml::Value::Array(Vec::new()));
    let Some(list) = list.as_array_mut() else {
        return Err(ConfigError::Toml(format!(
            "{} must be an array of tables",
            kind.array
        )));
    };
    list.retain(|a| {
        key_of(kind, a).is_none_or(|n| {
            !removed.iter().any(|r| r == n) && !added.iter().any(|b| key_of(kind, b) == Some(n))
        })
    });
    list.extend(added);
    Ok(())
}

/// Lay the attendants' overlay over the configuration `base`.
pub fn apply(base: &mut toml::Value, overlay: &str) -> Result<(), ConfigError> {
    apply_kind(base, ATTENDANTS, overlay)
}

/// An overlay as editable values: (objects, removed names).
pub fn load_kind(kind: Kind, text: &str) -> Result<(Vec<toml::Value>, Vec<String>), ConfigError> {
    parse(kind, text)
}

/// The attendants' overlay as editable values.
pub fn load(text: &str) -> Result<(Vec<toml::Value>, Vec<String>), ConfigError> {
    parse(ATTENDANTS, text)
}

/// Write an overlay back as TOML text.
pub fn render_kind(kind: Kind, objects: &[toml::Value], removed: &[String]) -> String {
    let mut t = toml::map::Map::new();
    if !removed.is_empty() {
        t.insert(
            "removed".into(),
            toml::Value::Array(removed.iter().cloned().map(toml::Value::String).collect()),
        );
    }
    if !objects.is_empty() {
        t.insert(kind.array.into(), toml::Value::Array(objects.to_vec()));
    }
    toml::to_string_pretty(&toml::Value::Table(t)).unwrap_or_default()
}

/// Write the attendants' overlay back as TOML text.
pub fn render(aas: &[toml::Value], removed: &[String]) -> String {
    render_kind(ATTENDANTS, aas, removed)
}

/// The configuration's own object `name` of `kind`, as a table (to copy into
/// the overlay before a change).
pub fn base_object(kind: Kind, base: &str, name: &str) -> Option<toml::Value> {
    let v: toml::Value = toml::from_str(base).ok()?;
    v.get(kind.array)?
        .as_array()?
        .iter()
        .find(|a| key_of(kind, a) == Some(name))
        .cloned()
}

/// The configuration's own attendant `name`.
pub fn base_attendant(base: &str, name: &str) -> Option<toml::Value> {
    base_object(ATTENDANTS, base, name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, DEMO_TOML};

    #[test]
    fn overlay_adds_replaces_and_removes_attendants() {
        let overlay = r#"
removed = ["MainAA"]

[[auto_attendant]]
name = "SalesAA"
dial_plan = "Demo"
pilots = ["4300"]
enabled = false
"#;
        let c =
            Config::parse_layers(DEMO_TOML, Some(overlay), None, &|_| false, &|_| vec![]).unwrap();
        let names: Vec<&str> = c
            .directory
            .auto_attendants
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["SalesAA"]);
        assert!(!c.directory.auto_attendants[0].enabled);
        // Replacing: the overlay's MainAA wins over the file's.
        let mut main = base_attendant(DEMO_TOML, "MainAA").unwrap();
        main.as_table_mut()
            .unwrap()
            .insert("enabled".into(), toml::Value::Boolean(false));
        let text = render(&[main], &[]);
        let c =
            Config::parse_layers(DEMO_TOML, Some(&text), None, &|_| false, &|_| vec![]).unwrap();
        assert_eq!(c.directory.auto_attendants.len(), 1);
        assert!(!c.directory.auto_attendants[0].enabled);
        let (aas, removed) = load(&text).unwrap();
        assert_eq!((aas.len(), removed.len()), (1, 0));
        // A broken overlay names its file.
        let e = Config::parse_layers(DEMO_TOML, Some("[[x"), None, &|_| false, &|_| vec![])
            .unwrap_err();
        assert!(e.to_string().contains("autoattendants.toml"), "{e}");
    }

    #[test]
    fn mailbox_overlay_enables_changes_and_disables_mailboxes() {
        let overlay = r#"
removed = ["2101"]

[[mailbox]]
extension = "1004"
display_name = "Fanny Girard"
dial_plan = "Demo"

[[mailbox]]
extension = "1001"
display_name = "Alice Martin-Roux"
dial_plan = "Demo"
"#;
        let c =
            Config::parse_layers(DEMO_TOML, None, Some(overlay), &|_| false, &|_| vec![]).unwrap();
        let d = &c.directory;
        assert!(d.mailbox("SignalDemo", "2101").is_none());
        assert_eq!(
            d.mailbox("Demo", "1004").unwrap().display_name,
            "Fanny Girard"
        );
        assert_eq!(
            d.mailbox("Demo", "1001").unwrap().display_name,
            "Alice Martin-Roux"
        );
        assert!(d.mailbox("Demo", "1002").is_some());
        let e = Config::parse_layers(
            DEMO_TOML,
            None,
            Some("[[mailbox]]\nx = 1"),
            &|_| false,
            &|_| vec![],
        )
        .unwrap_err();
        assert!(!e.to_string().is_empty());
    }

    #[test]
    fn imported_prompts_are_accepted_only_when_known() {
        let overlay = r#"
[[auto_attendant]]
name = "MainAA"
dial_plan = "Demo"
pilots = ["4100"]
greetings = { business = "MainAA-business" }
"#;
        let e = Config::parse_layers(DEMO_TOML, Some(overlay), None, &|_| false, &|_| vec![])
            .unwrap_err();
        assert!(e.to_string().contains("nor an imported one"), "{e}");
        let known = |n: &str| n == "MainAA-business";
        let c = Config::parse_layers(DEMO_TOML, Some(overlay), None, &known, &|_| vec![]).unwrap();
        assert_eq!(
            c.directory.auto_attendants[0].greetings.business.as_deref(),
            Some("MainAA-business")
        );
    }
}

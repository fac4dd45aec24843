//! The subscriber pages as HTML, in English or French: sign in, and the inbox
//! (new first, then saved, then the deleted items still kept), each message
//! playable in the page (Ogg/Opus, with WAV for browsers that do not play
//! Ogg), with its caller, date and time in the mailbox's zone and language,
//! duration, state and email delivery, and its actions. Pure: data in, text
//! out; labels are real `<label for>`s, so assistive technology and tests find
//! them by name.

use crate::directory::lang::Lang;
use crate::notify::email::{caller_label, duration_words, when};
use crate::store::{MessageStatus, MessageView};

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The language a browser asks for (`Accept-Language`): French when French
/// comes before English, else English.
pub fn lang_of(accept: Option<&str>) -> Lang {
    let Some(a) = accept else { return Lang::EnUs };
    for part in a.split(',') {
        let tag = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if tag.starts_with("fr") {
            return Lang::FrFr;
        }
        if tag.starts_with("en") {
            return Lang::EnUs;
        }
    }
    Lang::EnUs
}

struct Words {
    title: &'static str,
    extension: &'static str,
    pin: &'static str,
    sign_in: &'static str,
    sign_out: &'static str,
    mailbox: &'static str,
    received: &'static str,
    duration: &'static str,
    state: [&'static str; 3],
    email: &'static str,
    play: &'static str,
    download: &'static str,
    mark_saved: &'static str,
    mark_new: &'static str,
    delete: &'static str,
    undelete: &'static str,
    none: &'static str,
    anonymous: &'static str,
    counts: fn(usize, usize, usize) -> String,
    search: &'static str,
    search_label: &'static str,
    state_label: &'static str,
    any: &'static str,
    from_day: &'static str,
    to_day: &'static str,
    shown: fn(usize) -> String,
}

fn words(l: Lang) -> Words {
    match l {
        Lang::EnUs => Words {
            title: "Voicemail",
            extension: "Extension",
            pin: "PIN",
            sign_in: "Sign in",
            sign_out: "Sign out",
            mailbox: "Mailbox",
            received: "Received",
            duration: "Duration",
            state: ["New", "Saved", "Deleted"],
            email: "Email",
            play: "Play the message from",
            download: "Download",
            mark_saved: "Mark saved",
            mark_new: "Mark new",
            delete: "Delete",
            undelete: "Undelete",
            none: "No messages.",
            anonymous: "Anonymous caller",
            counts: |n, s, d| format!("{n} new, {s} saved, {d} deleted"),
            search: "Search",
            search_label: "Caller name or number",
            state_label: "State",
            any: "Any",
            from_day: "From day",
            to_day: "To day",
            shown: |n| format!("{n} shown"),
        },
        Lang::FrFr => Words {
            title: "Messagerie vocale",
            extension: "Poste",
            pin: "Code PIN",
            sign_in: "Se connecter",
            sign_out: "Se déconnecter",
            mailbox: "Boîte vocale",
            received: "Reçu",
            duration: "Durée",
            state: ["Nouveau", "Enregistré", "Supprimé"],
            email: "Courriel",
            play: "Écouter le message de",
            download: "Télécharger",
            mark_saved: "Marquer comme lu",
            mark_new: "Marquer comme nouveau",
            delete: "Supprimer",
            undelete: "Restaurer",
            none: "Aucun message.",
            anonymous: "Correspondant anonyme",
            counts: |n, s, d| format!("{n} nouveau(x), {s} enregistré(s), {d} supprimé(s)"),
            search: "Rechercher",
            search_label: "Nom ou numéro de l'appelant",
            state_label: "État",
            any: "Tous",
            from_day: "Du",
            to_day: "Au",
            shown: |n| format!("{n} affiché(s)"),
        },
    }
}

fn page(l: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{}</title><link rel=\"stylesheet\" href=\"/web.css\"></head>\
<body><main>{body}</main></body></html>\n",
        match l {
            Lang::EnUs => "en",
            Lang::FrFr => "fr",
        },
        esc(title)
    )
}

/// The sign-in page, with the reason of a refusal when there is one.
pub fn sign_in(l: Lang, error: Option<&str>, extension: &str) -> String {
    let w = words(l);
    let err = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    page(
        l,
        &format!("openum — {}", w.sign_in),
        &format!(
            "<h1>{}</h1>{err}<form method=\"post\" action=\"/signin\">\
<label for=\"extension\">{}</label>\
<input id=\"extension\" name=\"extension\" inputmode=\"numeric\" autocomplete=\"username\" required value=\"{}\">\
<label for=\"pin\">{}</label>\
<input id=\"pin\" name=\"pin\" type=\"password\" inputmode=\"numeric\" autocomplete=\"current-password\" required>\
<button type=\"submit\">{}</button></form>",
            w.title,
            w.extension,
            esc(extension),
            w.pin,
            w.sign_in
        ),
    )
}

/// Why a sign-in was refused, in words for the page.
pub fn refusal(l: Lang, what: &str) -> String {
    match (l, what) {
        (Lang::EnUs, "locked") => "This mailbox is locked after too many wrong PINs: ask your administrator to unlock it.".into(),
        (Lang::FrFr, "locked") => "Cette boîte vocale est verrouillée après trop de codes erronés : demandez à votre administrateur de la déverrouiller.".into(),
        (Lang::EnUs, "no_pin") => "No PIN is set for this mailbox: ask your administrator for one.".into(),
        (Lang::FrFr, "no_pin") => "Aucun code n'est défini pour cette boîte vocale : demandez-en un à votre administrateur.".into(),
        (Lang::EnUs, "unavailable") => "The mailbox cannot be reached just now: try again.".into(),
        (Lang::FrFr, "unavailable") => "La boîte vocale est injoignable pour l'instant : réessayez.".into(),
        (Lang::EnUs, _) => "Wrong extension or PIN.".into(),
        (Lang::FrFr, _) => "Poste ou code PIN erroné.".into(),
    }
}

/// What the inbox shows of its mailbox.
pub struct Inbox<'a> {
    pub lang: Lang,
    pub extension: &'a str,
    pub name: &'a str,
    pub tz: jiff::tz::TimeZone,
    pub csrf: &'a str,
    pub messages: Vec<MessageView>,
    /// The search in force (rows shown are those it matches).
    pub query: &'a crate::store::query::MessageQuery,
    /// Why the search could not be read, when it could not.
    pub query_error: Option<String>,
}

fn order(s: MessageStatus) -> u8 {
    match s {
        MessageStatus::New => 0,
        MessageStatus::Saved => 1,
        MessageStatus::Deleted => 2,
    }
}

pub fn inbox(i: Inbox<'_>) -> String {
    let w = words(i.lang);
    let mut msgs = i.messages;
    // New first, then saved, then deleted; newest first within each.
    msgs.sort_by(|a, b| {
        order(a.status)
            .cmp(&order(b.status))
            .then(b.meta.received_at.cmp(&a.meta.received_at))
    });
    let count = |s| msgs.iter().filter(|m| m.status == s).count();
    let counts = (w.counts)(
        count(MessageStatus::New),
        count(MessageStatus::Saved),
        count(MessageStatus::Deleted),
    );
    let csrf = esc(i.csrf);
    let mut body = format!(
        "<header><h1>{} {} — {}</h1>\
<form method=\"post\" action=\"/signout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\">{}</button></form></header>\
<p id=\"counts\" role=\"status\">{}</p>",
        w.mailbox,
        esc(i.extension),
        esc(i.name),
        w.sign_out,
        esc(&counts)
    );
    let q = i.query;
    let sel = |v: &str| {
        let on = q.status.map(|s| s.name()) == Some(v);
        if on { " selected" } else { "" }
    };
    body.push_str(&format!(
        "<form method=\"get\" action=\"/inbox\" role=\"search\" class=\"search\">\
<label for=\"q\">{}</label><input id=\"q\" name=\"q\" type=\"search\" value=\"{}\">\
<label for=\"status\">{}</label><select id=\"status\" name=\"status\">\
<option value=\"\">{}</option><option value=\"new\"{}>{}</option><option value=\"saved\"{}>{}</option><option value=\"deleted\"{}>{}</option></select>\
<label for=\"from\">{}</label><input id=\"from\" name=\"from\" type=\"date\" value=\"{}\">\
<label for=\"to\">{}</label><input id=\"to\" name=\"to\" type=\"date\" value=\"{}\">\
<button type=\"submit\">{}</button></form>",
        w.search_label,
        esc(q.q.as_deref().unwrap_or("")),
        w.state_label,
        w.any,
        sel("new"),
        w.state[0],
        sel("saved"),
        w.state[1],
        sel("deleted"),
        w.state[2],
        w.from_day,
        esc(q.from.as_deref().unwrap_or("")),
        w.to_day,
        esc(q.to.as_deref().unwrap_or("")),
        w.search
    ));
    if let Some(e) = &i.query_error {
        body.push_str(&format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)));
    }
    let msgs: Vec<MessageView> = match i.query_error {
        Some(_) => Vec::new(),
        None => msgs
            .into_iter()
            .filter(|m| q.matches(m, &i.tz).unwrap_or(false))
            .collect(),
    };
    if !q.is_empty() {
        body.push_str(&format!("<p id=\"shown\">{}</p>", (w.shown)(msgs.len())));
    }
    if msgs.is_empty() {
        body.push_str(&format!("<p>{}</p>", w.none));
    }
    body.push_str("<ul class=\"messages\">");
    for m in &msgs {
        let meta = &m.meta;
        let who = caller_label(meta.caller_name.as_deref(), &meta.caller_id).unwrap_or(w.anonymous);
        let number = if meta.caller_id.is_empty() {
            "—"
        } else {
            meta.caller_id.as_str()
        };
        let at = meta
            .received_at
            .parse::<jiff::Timestamp>()
            .map(|t| when(&t.to_zoned(i.tz.clone()), i.lang))
            .unwrap_or_else(|_| meta.received_at.clone());
        let state = w.state[order(m.status) as usize];
        let email = meta
            .email
            .as_ref()
            .map(|e| {
                let err = e
                    .last_error
                    .as_ref()
                    .map(|x| format!(" ({})", esc(x)))
                    .unwrap_or_default();
                format!(
                    "<div class=\"email\">{}: {}{err}</div>",
                    w.email,
                    e.state.name()
                )
            })
            .unwrap_or_default();
        let id = esc(&meta.id);
        let actions: Vec<(&str, &str)> = match m.status {
            MessageStatus::New => vec![("saved", w.mark_saved), ("deleted", w.delete)],
            MessageStatus::Saved => vec![("new", w.mark_new), ("deleted", w.delete)],
            MessageStatus::Deleted => vec![("saved", w.undelete)],
        };
        let buttons: String = actions
            .iter()
            .map(|(v, label)| {
                format!("<button type=\"submit\" name=\"action\" value=\"{v}\">{label}</button>")
            })
            .collect();
        body.push_str(&format!(
            "<li class=\"message {status}\" data-id=\"{id}\">\
<div class=\"who\"><span class=\"name\">{who}</span> <span class=\"number\">{number}</span></div>\
<dl><dt>{rec}</dt><dd>{at}</dd><dt>{dur}</dt><dd>{d}</dd></dl>\
<div class=\"state\">{state}</div>{email}\
<audio controls preload=\"metadata\" aria-label=\"{play} {who}\">\
<source src=\"/api/messages/{id}/audio.ogg\" type=\"audio/ogg; codecs=opus\">\
<source src=\"/api/messages/{id}/audio.wav\" type=\"audio/wav\"></audio>\
<a href=\"/api/messages/{id}/audio.wav\" download>{dl}</a>\
<form method=\"post\" action=\"/inbox/{id}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{buttons}</form></li>",
            status = m.status.name(),
            who = esc(who),
            number = esc(number),
            rec = w.received,
            at = esc(&at),
            dur = w.duration,
            d = duration_words(meta.duration_ms),
            play = w.play,
            dl = w.download,
        ));
    }
    body.push_str("</ul>");
    page(i.lang, &format!("{} {}", w.title, i.extension), &body)
}

pub const CSS: &str = "\
:root{color-scheme:light;font-family:system-ui,sans-serif;line-height:1.4}\
body{margin:0;background:#f6f7f9;color:#1b1f24}\
main{max-width:48rem;margin:0 auto;padding:1rem}\
h1{font-size:1.4rem}\
form{margin:.5rem 0}\
label{display:block;margin-top:.75rem;font-weight:600}\
input{font-size:1rem;padding:.5rem;width:100%;max-width:20rem;box-sizing:border-box;border:1px solid #5a6270;border-radius:4px}\
button{font-size:1rem;margin:.5rem .5rem 0 0;padding:.45rem .9rem;border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;border-radius:4px;cursor:pointer}\
select{font-size:1rem;padding:.4rem}\
form.search{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:.25rem .75rem;align-items:end}\
form.search label{margin-top:0}\
button:focus,input:focus,select:focus,a:focus{outline:3px solid #f59e0b;outline-offset:2px}\
header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center}\
.error{color:#9b1c1c;background:#fde8e8;padding:.5rem;border-radius:4px}\
ul.messages{list-style:none;padding:0}\
li.message{background:#fff;border:1px solid #d0d5dd;border-radius:6px;padding:.75rem;margin:.75rem 0}\
li.message.new{border-left:6px solid #1d4ed8}\
li.message.deleted{opacity:.85}\
.who .name{font-weight:700}\
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .75rem;margin:.4rem 0}\
dt{color:#3b4250}dd{margin:0}\
audio{width:100%;margin:.4rem 0}\
a{color:#1d4ed8}\
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_when_the_browser_asks_for_it_first() {
        assert_eq!(lang_of(Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::FrFr);
        assert_eq!(lang_of(Some("en-US,fr;q=0.5")), Lang::EnUs);
        assert_eq!(lang_of(None), Lang::EnUs);
        let p = sign_in(Lang::FrFr, None, "");
        assert!(p.contains("<label for=\"extension\">Poste</label>") && p.contains("lang=\"fr\""));
        let p = sign_in(Lang::EnUs, Some("<x>"), "1001");
        assert!(p.contains("<label for=\"pin\">PIN</label>") && p.contains("&lt;x&gt;"));
        assert!(p.contains(">Sign in</button>") && p.contains("value=\"1001\""));
    }
}

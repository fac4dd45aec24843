//! Blind transfer of a caller (the auto attendant's "transfer to extension"):
//! REFER in the caller's dialog (RFC 3515) with Refer-To and Referred-By (RFC
//! 3892), then the implicit subscription's NOTIFYs carrying `message/sipfrag`
//! (RFC 3420): a final 2xx means the transfer took and we leave the call; a REFER
//! refused (≥ 300), no answer, or a final sipfrag ≥ 300 means it failed and the
//! caller stays with us. Only through a gateway with OutcallsAllowed.

use super::{CallControl, Output};
use crate::sip::msg::{self, Method, Request};
use crate::sip::transaction::TxId;
use std::time::Instant;

/// The status line of a `message/sipfrag` body (`SIP/2.0 200 OK`).
pub fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?.trim();
    let rest = line.strip_prefix("SIP/2.0 ")?;
    rest.get(..3)?
        .parse()
        .ok()
        .filter(|s| (100..700).contains(s))
}

impl CallControl {
    fn transfer_done(&mut self, call_id: &str, ok: bool, reason: String) {
        if let Some(c) = self.calls.get_mut(call_id)
            && c.transfer.take().is_some()
        {
            self.out.push_back(Output::TransferResult {
                call_id: call_id.to_string(),
                ok,
                reason,
            });
        }
    }

    /// The call's attendant asks to transfer the caller to `extension`.
    pub fn start_transfer(&mut self, _now: Instant, call_id: &str, extension: &str) {
        let Some(c) = self.calls.get(call_id) else {
            return;
        };
        if c.transfer.is_some() {
            return;
        }
        let Some(gw) = self.dir.gateway(&c.gateway).cloned() else {
            return;
        };
        if let Some(c) = self.calls.get_mut(call_id) {
            c.transfer = Some(extension.to_string());
        }
        if !gw.outcalls_allowed {
            let why = format!("IP gateway {} does not allow outcalls", gw.name);
            return self.transfer_done(call_id, false, why);
        }
        let host = gw.fqdn.clone().unwrap_or_else(|| gw.address.clone());
        let Some((mut refer, via, flow)) = self.dialog_request(call_id, Method::Refer) else {
            return;
        };
        let Some(c) = self.calls.get(call_id) else {
            return;
        };
        refer
            .headers
            .push("Refer-To", format!("<sip:{extension}@{host}>"));
        refer.headers.push(
            "Referred-By",
            format!("<{}>", msg::addr_uri(&c.dialog.local)),
        );
        refer.headers.push("Contact", format!("<sip:{via}>"));
        self.out.push_back(Output::Refer {
            call_id: call_id.to_string(),
            request: refer,
            flow,
        });
    }

    /// The final answer to our REFER (None: no answer in time).
    pub fn handle_refer_outcome(&mut self, call_id: &str, status: Option<u16>) {
        match status {
            Some(s) if (200..300).contains(&s) => {} // accepted: NOTIFYs follow
            Some(s) => self.transfer_done(call_id, false, format!("REFER refused with {s}")),
            None => self.transfer_done(call_id, false, "no answer to the REFER".into()),
        }
    }

    /// NOTIFY in a dialog: the progress of our REFER (Event: refer).
    pub(super) fn on_notify(&mut self, tx: TxId, req: Request) {
        if self.in_dialog(&req).is_none() {
            return self.reject(tx, &req, 481, "no such dialog", None);
        }
        let r = msg::response_to(&req, 200, None);
        self.respond(tx, r);
        let is_refer = req
            .headers
            .get("Event")
            .is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("refer"));
        if !is_refer {
            return;
        }
        let call_id = req.call_id().to_string();
        let terminated = req
            .headers
            .get("Subscription-State")
            .is_some_and(|s| s.trim().to_ascii_lowercase().starts_with("terminated"));
        match sipfrag_status(&req.body) {
            Some(s) if (200..300).contains(&s) => {
                self.transfer_done(&call_id, true, format!("sipfrag {s}"))
            }
            Some(s) if s >= 300 => {
                self.transfer_done(&call_id, false, format!("the transfer target answered {s}"))
            }
            _ if terminated => self.transfer_done(
                &call_id,
                false,
                "the REFER subscription ended without a final answer".into(),
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sipfrag_status_lines() {
        assert_eq!(sipfrag_status(b"SIP/2.0 200 OK\r\n"), Some(200));
        assert_eq!(sipfrag_status(b"SIP/2.0 100 Trying"), Some(100));
        assert_eq!(sipfrag_status(b"SIP/2.0 486 Busy Here\r\n"), Some(486));
        assert_eq!(sipfrag_status(b"HTTP/1.1 200 OK"), None);
        assert_eq!(sipfrag_status(b"SIP/2.0 2"), None);
        assert_eq!(sipfrag_status(&[0xff]), None);
    }
}

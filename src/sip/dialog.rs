//! UAS dialog state (RFC 3261 §12.1.1) and in-dialog requests we originate
//! (§12.2.1.1: BYE). Requests go back on the flow the dialog was created on: openum
//! only talks to trusted gateways, which expect exactly that; resolving the remote
//! target per RFC 3263 is for outbound calls, a later issue.

use super::msg::{self, Headers, Method, Request};
use super::transaction::Flow;

#[derive(Debug, Clone)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
    /// Our URI (the INVITE's To, without tag) and theirs (From, with tag).
    pub local: String,
    pub remote: String,
    pub remote_target: String,
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: u32,
    pub flow: Flow,
}

impl Dialog {
    /// Build the dialog for an INVITE we answer with `local_tag`.
    pub fn from_invite(req: &Request, local_tag: &str, flow: Flow) -> Dialog {
        let to = req.headers.get("To").unwrap_or("");
        let contact = req.headers.get("Contact").map(msg::addr_uri);
        Dialog {
            call_id: req.call_id().to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: req.from_tag().unwrap_or("").to_string(),
            local: to.to_string(),
            remote: req.headers.get("From").unwrap_or("").to_string(),
            remote_target: contact.unwrap_or(&req.uri).to_string(),
            route_set: req
                .headers
                .get_all("Record-Route")
                .map(str::to_string)
                .collect(),
            local_cseq: 1,
            remote_cseq: req.cseq().map(|c| c.seq).unwrap_or(0),
            flow,
        }
    }

    /// Does this in-dialog request belong here (§12.2.2)?
    pub fn matches(&self, req: &Request) -> bool {
        req.call_id() == self.call_id
            && req.to_tag() == Some(self.local_tag.as_str())
            && req.from_tag().unwrap_or("") == self.remote_tag
    }

    /// A new in-dialog request (BYE, re-INVITE, INFO …) with a fresh branch.
    pub fn request(&mut self, method: Method, via_host: &str, branch: &str) -> Request {
        self.local_cseq += 1;
        let mut h = Headers::new();
        h.push(
            "Via",
            format!(
                "SIP/2.0/{} {via_host};branch={branch};rport",
                self.flow.transport.via_name()
            ),
        );
        h.push("Max-Forwards", "70");
        for r in &self.route_set {
            h.push("Route", r.as_str());
        }
        h.push("From", format!("{};tag={}", self.local, self.local_tag));
        h.push("To", self.remote.as_str());
        h.push("Call-ID", self.call_id.as_str());
        h.push("CSeq", format!("{} {}", self.local_cseq, method.as_str()));
        Request {
            method,
            uri: self.remote_target.clone(),
            headers: h,
            body: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::msg::Message;
    use super::super::transaction::Transport;
    use super::*;

    #[test]
    fn bye_swaps_from_and_to_and_targets_the_contact() {
        let text = "INVITE sip:1001@h SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKa\r\n\
From: \"C\" <sip:555@gw>;tag=ft\r\nTo: <sip:1001@h>\r\nCall-ID: cid\r\nCSeq: 7 INVITE\r\n\
Contact: <sip:555@1.2.3.4:5070>\r\nRecord-Route: <sip:p1;lr>, <sip:p2;lr>\r\n\r\n";
        let Ok(Message::Request(inv)) = msg::parse(text.as_bytes()) else {
            panic!()
        };
        let flow = Flow {
            transport: Transport::Udp,
            peer: "1.2.3.4:5070".parse().unwrap(),
            conn: None,
        };
        let mut d = Dialog::from_invite(&inv, "lt", flow);
        let bye = d.request(Method::Bye, "10.0.0.1:5060", "z9hG4bKb");
        assert_eq!(bye.uri, "sip:555@1.2.3.4:5070");
        assert_eq!(bye.headers.get("From"), Some("<sip:1001@h>;tag=lt"));
        assert_eq!(bye.headers.get("To"), Some("\"C\" <sip:555@gw>;tag=ft"));
        assert_eq!(bye.headers.get("CSeq"), Some("2 BYE"));
        assert_eq!(
            bye.headers.raw_all("Route").collect::<Vec<_>>(),
            ["<sip:p1;lr>", "<sip:p2;lr>"]
        );
        // Their in-dialog request matches; a stranger's does not.
        let their_bye = text
            .replace("INVITE sip", "BYE sip")
            .replace("To: <sip:1001@h>", "To: <sip:1001@h>;tag=lt")
            .replace("7 INVITE", "8 BYE");
        let Ok(Message::Request(b)) = msg::parse(their_bye.as_bytes()) else {
            panic!()
        };
        assert!(d.matches(&b));
        let other = their_bye.replace("tag=lt", "tag=zz");
        let Ok(Message::Request(o)) = msg::parse(other.as_bytes()) else {
            panic!()
        };
        assert!(!d.matches(&o));
    }
}

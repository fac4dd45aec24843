//! A SIPp phone that subscribes to a mailbox's message summary (RFC 3842) and
//! checks each NOTIFY body against the counts it expects, in order.

use super::*;

fn expect_notify(counts: &str, n: usize) -> String {
    format!(
        r#"  <recv request="NOTIFY">
    <action>
      <ereg regexp="Voice-Message: {counts}" search_in="body" check_it="true" assign_to="seen{n}"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      X-Seen: [$seen{n}]
      Content-Length: 0
    ]]>
  </send>
"#
    )
}

/// A running SIPp subscriber to `mailbox` expecting NOTIFYs with `counts`
/// ("new/old") in order; [`Subscriber::finish`] waits for it and checks.
pub struct Subscriber {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Subscriber {
    pub fn start(server: &Server, mailbox: &str, counts: &[&str]) -> Subscriber {
        let dir = tempfile::tempdir().unwrap();
        let mut notifies = String::new();
        for (i, c) in counts.iter().enumerate() {
            notifies.push_str(&expect_notify(c, i));
        }
        let xml = format!(
            r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="openum MWI subscriber">
  <send retrans="500">
    <![CDATA[
      SUBSCRIBE sip:{mailbox}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:phone{mailbox}@[local_ip]:[local_port]>;tag=[pid]mwi[call_number]
      To: <sip:{mailbox}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 SUBSCRIBE
      Contact: <sip:phone{mailbox}@[local_ip]:[local_port]>
      Event: message-summary
      Accept: application/simple-message-summary
      Expires: 3600
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
{notifies}</scenario>
"#
        );
        let sf = dir.path().join("mwi.xml");
        std::fs::write(&sf, xml).unwrap();
        have_sipp();
        let child = Command::new("sipp")
            .arg(format!("127.0.0.1:{}", server.sip_port))
            .args(["-sf", sf.to_str().unwrap(), "-m", "1", "-i", "127.0.0.1"])
            .args(["-p", &free_port().to_string()])
            .args(["-nostdin", "-timeout", "150s", "-timeout_error"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        server.wait_log(
            &[
                "event=\"mwi_subscription\"",
                "what=\"subscribed\"",
                &format!("mailbox={mailbox}"),
            ],
            1,
            Duration::from_secs(10),
        );
        Subscriber { child, _dir: dir }
    }

    /// Wait for SIPp to have seen every NOTIFY it expects; panics naming why not.
    pub fn finish(mut self, server: &Server) {
        let st = wait_for("SIPp subscriber to finish", Duration::from_secs(60), || {
            self.child.try_wait().ok().flatten()
        });
        let mut err = String::new();
        let _ = self.child.stderr.take().unwrap().read_to_string(&mut err);
        assert!(
            st.success(),
            "SIPp subscriber failed: {err}\n{}",
            server.log_text()
        );
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

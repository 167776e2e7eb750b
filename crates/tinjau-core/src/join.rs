//! A join file (`*.tinjau`): what a juror needs to join the server, in one small file the
//! organiser hands out (`tinjau-server token --join-file`) and the CLI takes
//! (`tinjau sync --join FILE`). It holds a secret token: whoever has the file can sync as the
//! juror until the organiser revokes it.

use serde::{Deserialize, Serialize};

pub const JOIN_FORMAT: &str = "tinjau-join/1";
/// A join file is a few hundred bytes; anything larger is not one.
pub const MAX_JOIN_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinSlip {
    pub format: String,
    /// `https://…` (or `http://` on a trusted network).
    pub server: String,
    pub token: String,
    /// SHA-256 (hex) of a self-signed server certificate, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    pub competition: String,
    pub juror: String,
}

impl JoinSlip {
    pub fn new(
        server: &str,
        token: &str,
        pin: Option<&str>,
        competition: &str,
        juror: &str,
    ) -> JoinSlip {
        JoinSlip {
            format: JOIN_FORMAT.into(),
            server: server.trim_end_matches('/').to_string(),
            token: token.to_string(),
            pin: pin.map(str::to_string),
            competition: competition.to_string(),
            juror: juror.to_string(),
        }
    }

    /// Reads a join file, checking every field; the message says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<JoinSlip, String> {
        if bytes.len() > MAX_JOIN_BYTES {
            return Err(format!(
                "this is not a join file: it is {} bytes, a join file is at most {MAX_JOIN_BYTES}",
                bytes.len()
            ));
        }
        let slip: JoinSlip =
            serde_json::from_slice(bytes).map_err(|e| format!("this is not a join file ({e})"))?;
        if slip.format != JOIN_FORMAT {
            return Err(format!(
                "this join file is \"{}\"; this Tinjau reads \"{JOIN_FORMAT}\"",
                slip.format.escape_debug()
            ));
        }
        let url_ok = (slip.server.starts_with("https://") || slip.server.starts_with("http://"))
            && slip.server.len() <= 2048
            && !slip
                .server
                .chars()
                .any(|c| c.is_control() || c.is_whitespace());
        if !url_ok {
            return Err("the join file's server address is not an http(s) address".into());
        }
        let token_ok = !slip.token.is_empty()
            && slip.token.len() <= 256
            && slip.token.bytes().all(|b| b.is_ascii_graphic());
        if !token_ok {
            return Err("the join file's token is not a token".into());
        }
        if let Some(pin) = &slip.pin
            && !(pin.len() == 64 && pin.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err("the join file's certificate fingerprint is not a SHA-256".into());
        }
        for (what, id) in [("competition", &slip.competition), ("juror", &slip.juror)] {
            if !crate::package::is_valid_id(id) {
                return Err(format!("the join file's {what} is not an id"));
            }
        }
        Ok(slip)
    }

    pub fn encode(&self) -> String {
        serde_json::to_string_pretty(self).expect("a join slip serialises") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slip_reads_back_and_anything_else_is_refused_in_words() {
        let slip = JoinSlip::new(
            "https://10.0.0.2:8716/",
            "tjk_abc",
            Some(&"a".repeat(64)),
            "skk-jatim-2023",
            "akademisi",
        );
        assert_eq!(JoinSlip::parse(slip.encode().as_bytes()), Ok(slip.clone()));
        assert_eq!(slip.server, "https://10.0.0.2:8716");
        let spoil = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut value = serde_json::to_value(&slip).unwrap();
            edit(&mut value);
            JoinSlip::parse(value.to_string().as_bytes()).unwrap_err()
        };
        assert!(spoil(&|v| v["format"] = "tinjau-join/9".into()).contains("tinjau-join/1"));
        assert!(spoil(&|v| v["server"] = "file:///etc/passwd".into()).contains("server address"));
        assert!(spoil(&|v| v["token"] = "a b".into()).contains("token"));
        assert!(spoil(&|v| v["pin"] = "xyz".into()).contains("fingerprint"));
        assert!(spoil(&|v| v["juror"] = "../x".into()).contains("juror"));
        assert!(spoil(&|v| v["extra"] = 1.into()).contains("not a join file"));
        assert!(
            JoinSlip::parse(&vec![b' '; MAX_JOIN_BYTES + 1])
                .unwrap_err()
                .contains("bytes")
        );
        assert!(
            JoinSlip::parse(b"\x00\xff")
                .unwrap_err()
                .contains("not a join file")
        );
    }
}

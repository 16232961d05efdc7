//! PLAIN (RFC 24): the client sends HELLO with its credentials, the server asks ZAP and
//! answers WELCOME, the client sends INITIATE with its metadata, the server READY with its own.

use super::{Local, Security, SessionError, Step, ZapRequest};
use crate::codec::command::{self, Command};
use crate::codec::{plain, CodecError, CommandName};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Client: HELLO sent, WELCOME due. Server: HELLO due.
    Hello,
    /// Server: waiting for ZAP.
    Zap,
    /// Client: INITIATE sent, READY due. Server: WELCOME sent, INITIATE due.
    Initiate,
}

pub(crate) struct Plain {
    /// `Some((username, password))` on a client.
    client: Option<(Vec<u8>, Vec<u8>)>,
    state: State,
}

impl Plain {
    pub fn new(security: &Security) -> Plain {
        let client = match security {
            Security::PlainClient { username, password } => Some((username.clone(), password.clone())),
            _ => None,
        };
        Plain { client, state: State::Hello }
    }

    pub fn start(&mut self, out: &mut Vec<u8>) {
        if let Some((user, pass)) = &self.client {
            plain::encode_hello(out, user, pass);
        }
    }

    pub fn on_command(
        &mut self,
        local: &Local<'_>,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Step, SessionError> {
        let cmd = command::parse_command(body)?;
        let is_client = self.client.is_some();
        match (is_client, self.state, &cmd) {
            (true, State::Hello, Command::Other { name: b"WELCOME", data }) => {
                if !data.is_empty() {
                    // RFC 24's WELCOME is the bare name; libzmq refuses one with data.
                    return Err(CodecError::Malformed(CommandName::Welcome).into());
                }
                plain::encode_with_metadata(out, "INITIATE", &local.metadata());
                self.state = State::Initiate;
                Ok(Step::Wait)
            }
            (true, State::Initiate, Command::Ready(_)) => {
                Ok(Step::Ready { metadata: body[6..].to_vec(), cipher: None })
            }
            (false, State::Hello, Command::Other { name: b"HELLO", data }) => {
                let (user, pass) = plain::parse_hello(data)?;
                self.state = State::Zap;
                Ok(Step::Zap(ZapRequest {
                    mechanism: "PLAIN",
                    credentials: vec![user.to_vec(), pass.to_vec()],
                }))
            }
            (false, State::Initiate, Command::Other { name: b"INITIATE", data }) => {
                crate::codec::properties::parse_properties(data)?;
                plain::encode_with_metadata(out, "READY", &local.metadata());
                Ok(Step::Ready { metadata: data.to_vec(), cipher: None })
            }
            _ => Err(SessionError::UnexpectedCommand(super::super::command_name(&cmd))),
        }
    }

    pub fn on_zap(&mut self, _local: &Local<'_>, out: &mut Vec<u8>) -> Result<Step, SessionError> {
        if self.state != State::Zap {
            return Err(SessionError::UnexpectedCommand("ZAP reply".into()));
        }
        plain::encode_welcome(out);
        self.state = State::Initiate;
        Ok(Step::Wait)
    }
}

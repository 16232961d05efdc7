//! The control socket of a steerable proxy: `PAUSE`, `RESUME`, `TERMINATE`, `STATISTICS`.
//!
//! Follows libzmq master (PR #4600), not 4.3.5: PAUSE pauses and RESUME resumes (4.3.5 swaps
//! them), `STATISTICS` is answered on any socket type, and a REP control socket gets an empty
//! reply to every other command, unknown ones included, so its peer never stalls.

use crate::error::{Error, Result};
use crate::socket::{Socket, DONTWAIT, SNDMORE};
use crate::socket_type::SocketType;

use super::stats::ProxyStatistics;

/// A command read from the control socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Pause,
    Resume,
    Terminate,
    Statistics,
    Unknown,
}

impl Command {
    pub(crate) fn parse(frame: &[u8]) -> Command {
        match frame {
            b"PAUSE" => Command::Pause,
            b"RESUME" => Command::Resume,
            b"TERMINATE" => Command::Terminate,
            b"STATISTICS" => Command::Statistics,
            _ => Command::Unknown,
        }
    }
}

/// Reads one command if one is waiting, and answers it. `Ok(None)`: nothing waiting.
pub(crate) fn take_command(control: &Socket, stats: &ProxyStatistics) -> Result<Option<Command>> {
    let frames = match control.recv_multipart(DONTWAIT) {
        Ok(frames) => frames,
        Err(Error::WouldBlock) => return Ok(None),
        Err(e) => return Err(e),
    };
    let command = Command::parse(frames.first().map_or(&[][..], |f| f.as_slice()));
    if command == Command::Unknown {
        tracing::warn!(command = %String::from_utf8_lossy(&frames.concat()), "proxy: unknown control command ignored");
    }
    if command == Command::Statistics {
        let reply = stats.to_frames();
        for (i, frame) in reply.iter().enumerate() {
            let flags = if i + 1 < reply.len() { SNDMORE } else { 0 };
            // Only the first frame may find no room; the rest of a started message is
            // always accepted.
            match control.send(&frame[..], flags | DONTWAIT) {
                Err(Error::WouldBlock) if i == 0 => {
                    tracing::warn!("proxy: no room for the STATISTICS reply on the control socket; dropped");
                    break;
                }
                other => other?,
            }
        }
    } else if control.get_socket_type()? == SocketType::REP {
        control.send(&[][..], DONTWAIT)?;
    }
    Ok(Some(command))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_exact_and_case_sensitive() {
        assert_eq!(Command::parse(b"PAUSE"), Command::Pause);
        assert_eq!(Command::parse(b"RESUME"), Command::Resume);
        assert_eq!(Command::parse(b"TERMINATE"), Command::Terminate);
        assert_eq!(Command::parse(b"STATISTICS"), Command::Statistics);
        assert_eq!(Command::parse(b"pause"), Command::Unknown);
        assert_eq!(Command::parse(b"PAUSED"), Command::Unknown);
        assert_eq!(Command::parse(b""), Command::Unknown);
    }
}

//! Flux's substitutions: `${ENV-NAME}` from the environment (`-e`) and `${name}` from a
//! properties file (`--filter`), applied to the text before parsing.

use std::collections::HashMap;
use std::path::Path;

/// What `${…}` may be replaced with.
#[derive(Clone, Debug, Default)]
pub struct Substitution {
    /// Replace `${ENV-NAME}` with environment variables.
    pub env: bool,
    /// `${name}` values (from a `--filter` properties file).
    pub properties: Option<HashMap<String, String>>,
    /// Where the properties came from (for messages).
    pub properties_file: Option<String>,
    /// Checking for `sockflow deploy`, away from the workers' hosts: the worker CURVE key
    /// is checked in form only (a throwaway key stands for it, whatever it says), and it
    /// must be in the main file, where deploy sees where it comes from.
    pub for_deploy: bool,
    /// `-c KEY=VALUE` options: config keys set over the file's (values in YAML).
    pub config_overrides: Vec<String>,
}

/// The config key naming the worker CURVE secret key, and its `.file` form.
pub const WORKER_KEY: &str = "topology.worker.curve.secretkey";
/// See [`WORKER_KEY`].
pub const WORKER_KEY_FILE: &str = "topology.worker.curve.secretkey.file";

/// `text` with its worker CURVE key (any form) replaced by a throwaway one, so that a file
/// can be checked where the real key (an environment variable or file of the workers' hosts)
/// is absent, as on the machine that runs `sockflow deploy`.
pub fn with_throwaway_worker_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(WORKER_KEY) {
        let after = &rest[at + WORKER_KEY.len()..];
        let after = after.strip_prefix(".file").unwrap_or(after);
        let Some(value) = after.trim_start_matches([' ', '\t']).strip_prefix(':') else {
            out.push_str(&rest[..at + WORKER_KEY.len()]);
            rest = &rest[at + WORKER_KEY.len()..];
            continue;
        };
        let value = value.trim_start_matches([' ', '\t']);
        // The value: a quoted string, or a plain one up to a blank, a flow separator or the line end.
        let len = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].find(q).map_or(value.len(), |i| i + 2),
            _ => value.find([' ', '\t', '\n', '\r', ',', '}']).unwrap_or(value.len()),
        };
        let key = crate::topology::WorkerKey::generate();
        out.push_str(&rest[..at]);
        out.push_str(&format!("{WORKER_KEY}: \"{}\"", key.secret()));
        rest = &value[len..];
    }
    out.push_str(rest);
    out
}

impl Substitution {
    /// Reads a Java-style properties file: `key=value` or `key: value` lines, `#`/`!` comments.
    pub fn read_properties(&mut self, path: &Path) -> Result<(), String> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: cannot read: {e}"))?;
        let mut props = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some(split) = line.find(['=', ':']) else {
                return Err(format!("{file}:{}: expected key=value, got {line:?}", i + 1));
            };
            props.insert(line[..split].trim().to_owned(), line[split + 1..].trim().to_owned());
        }
        self.properties = Some(props);
        self.properties_file = Some(file);
        Ok(())
    }

    /// Replaces every `${…}`; an unresolved one is an error with its line.
    pub fn apply(&self, text: &str) -> Result<String, (usize, String)> {
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let mut rest = line;
            while let Some(start) = rest.find("${") {
                let Some(len) = rest[start..].find('}') else { break };
                out.push_str(&rest[..start]);
                let name = &rest[start + 2..start + len];
                out.push_str(&self.lookup(name).map_err(|m| (i + 1, m))?);
                rest = &rest[start + len + 1..];
            }
            out.push_str(rest);
        }
        Ok(out)
    }

    fn lookup(&self, name: &str) -> Result<String, String> {
        if let Some(var) = name.strip_prefix("ENV-") {
            if !self.env {
                return Err(format!("${{{name}}} needs -e (environment substitution)"));
            }
            return std::env::var(var)
                .map_err(|_| format!("${{{name}}}: environment variable {var} is not set"));
        }
        match (&self.properties, &self.properties_file) {
            (Some(p), file) => p.get(name).cloned().ok_or_else(|| {
                format!("${{{name}}} is not defined in {}", file.as_deref().unwrap_or("the properties"))
            }),
            (None, _) => Err(format!("${{{name}}} needs --filter FILE (a properties file defining it)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_properties_are_substituted_and_misses_are_located() {
        std::env::set_var("SOCKFLOW_TEST_PORT", "5555");
        let mut s = Substitution { env: true, ..Substitution::default() };
        s.properties = Some([("host".to_owned(), "example".to_owned())].into_iter().collect());
        let out = s.apply("a: tcp://${host}:${ENV-SOCKFLOW_TEST_PORT}\n").unwrap();
        assert_eq!(out, "a: tcp://example:5555\n");
        assert_eq!(s.apply("x\ny: ${nope}\n").unwrap_err().0, 2);
        assert!(Substitution::default().apply("${ENV-HOME}").unwrap_err().1.contains("-e"));
    }
}

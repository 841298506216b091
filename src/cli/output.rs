//! Shared output of the commands: how a command ended, JSON documents, verification
//! findings, and output files written whole or not at all.

use serde_json::{Value, json};
use std::io::{self, Write as _};
use std::path::Path;

use vouch::ledger::verify;
use vouch::{Error, Result};

thread_local! {
    /// Standard output held back while a command runs through a replica's remote.
    static CAPTURED: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Hold back the line `line` makes if output is being captured (returns `true`), else
/// leave it to the caller to print (`false`).
pub(crate) fn capture(line: impl FnOnce() -> String) -> bool {
    CAPTURED.with(|c| match c.borrow_mut().as_mut() {
        Some(buf) => {
            buf.push_str(&line());
            buf.push('\n');
            true
        }
        None => false,
    })
}

/// Run `f` with its standard output held back; returns what it printed.
pub(crate) fn captured<T>(f: impl FnOnce() -> T) -> (T, String) {
    CAPTURED.with(|c| *c.borrow_mut() = Some(String::new()));
    let out = f();
    let text = CAPTURED.with(|c| c.borrow_mut().take()).unwrap_or_default();
    (out, text)
}

/// How a command ended.
pub(super) enum Outcome {
    /// All good.
    Ok,
    /// Verification found a problem.
    Problem,
}

/// Verification findings as `vouch verify --format json` lists them.
pub(super) fn findings_json(findings: &[verify::Finding]) -> Value {
    findings
        .iter()
        .map(|f| json!({"seq": f.seq, "check": format!("{:?}", f.check).to_lowercase(), "what": f.what}))
        .collect()
}

/// The first `limit` verification findings, one `entry N: what` line each.
pub(super) fn print_findings(findings: &[verify::Finding], limit: usize) {
    for f in findings.iter().take(limit) {
        out!("entry {}: {}", f.seq, f.what);
    }
}

pub(super) fn print_json(v: &Value) {
    let s = serde_json::to_string_pretty(v).unwrap_or_default();
    out!("{s}");
}

/// What [`write_output`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Written {
    /// The file did not exist.
    Created,
    /// It existed with other contents and was replaced (only when asked).
    Replaced,
    /// It already held exactly these bytes.
    Unchanged,
}

impl Written {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Written::Created => "wrote",
            Written::Replaced => "replaced",
            Written::Unchanged => "unchanged",
        }
    }
}

/// Write an output file whole or not at all: the bytes go to a temporary file beside it,
/// which is synced and renamed into place, so a failure never leaves half a file. An
/// existing file with other contents is an error unless `replace`; one with the same
/// bytes is left alone. Missing parent directories are created.
/// `force_flag` says whether the command offers `--force`, for the hint.
///
/// Mode: the file gets the mode any new file would, `0666` less the process umask (0644
/// under umask 022, 0600 under 077): the temporary file is opened with `0666` and the
/// kernel applies the umask, so there is nothing to read and nothing to race. A replaced
/// file gets that same mode, not the old file's (it is a new file under the old name); a
/// file left unchanged keeps its mode. A symbolic link at `path` is replaced by the file,
/// never written through.
pub(super) fn write_output(
    path: &Path,
    bytes: &[u8],
    replace: bool,
    force_flag: bool,
) -> Result<Written> {
    let existed = match std::fs::read(path) {
        Ok(old) if old == bytes => return Ok(Written::Unchanged),
        Ok(_) if !replace => {
            return Err(Error::new(format!(
                "{}: already exists with other contents",
                path.display()
            ))
            .hint(if force_flag {
                "choose another --out, or pass --force to replace it"
            } else {
                "choose another --out, or remove the file first"
            }));
        }
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(Error::io(path, &e)),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".vouch-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Masked by the umask when the file is created (tempfile's own default is 0600).
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, &e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io(path, &e))?;
    if existed {
        tmp.persist(path).map_err(|e| Error::io(path, &e.error))?;
        Ok(Written::Replaced)
    } else {
        tmp.persist_noclobber(path)
            .map_err(|e| Error::io(path, &e.error))?;
        Ok(Written::Created)
    }
}

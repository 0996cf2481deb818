//! A bundle on disk: a gzip'd tar, `MANIFEST.json` last, written owner-only
//! and atomically; read back with every file checked against the manifest.

use super::collect::sha256;
use super::{Bundle, FORMAT, IncidentError, Manifest, files};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Largest bundle read back, unpacked (a damaged or hostile file cannot
/// make the console hold more).
pub const MAX_UNPACKED: u64 = 512 * 1024 * 1024;

/// Write `bundle` to `path` (through a temporary file beside it, renamed
/// into place; owner-only, since it tells how the platform is set up).
pub fn write(bundle: &Bundle, path: &Path) -> Result<(), IncidentError> {
    let shown = path.display().to_string();
    let err = |e: std::io::Error| IncidentError::Write {
        path: shown.clone(),
        error: e.to_string(),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(err)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".into());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut tar = tar::Builder::new(GzEncoder::new(f, Compression::default()));
        let mtime = bundle.manifest.written_at.timestamp().max(0) as u64;
        for (name, bytes) in &bundle.files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o600);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, name, bytes.as_slice())?;
        }
        let gz = tar.into_inner()?;
        let f = gz.finish()?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

/// Read a bundle back; anything that does not match its manifest is
/// refused with one sentence.
pub fn open(path: &Path) -> Result<Bundle, IncidentError> {
    let shown = path.display().to_string();
    let not_a_bundle = |why: String| IncidentError::NotABundle {
        path: shown.clone(),
        why,
    };
    let damaged = |why: String| IncidentError::Damaged {
        path: shown.clone(),
        why,
    };
    let f = std::fs::File::open(path).map_err(|e| IncidentError::Read {
        path: shown.clone(),
        error: e.to_string(),
    })?;
    let mut archive = tar::Archive::new(GzDecoder::new(f));
    let mut got: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| not_a_bundle(format!("it is not a gzip'd tar ({e})")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            if got.is_empty() {
                not_a_bundle(format!("it is not a gzip'd tar ({e})"))
            } else {
                damaged(format!("it breaks off after {} files ({e})", got.len()))
            }
        })?;
        let name = entry
            .path()
            .map_err(|e| damaged(format!("a file name cannot be read ({e})")))?
            .to_string_lossy()
            .into_owned();
        if !entry.header().entry_type().is_file() {
            return Err(damaged(format!(
                "'{}' is not a plain file",
                crate::domain::text::shown(&name)
            )));
        }
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED {
            return Err(damaged(format!(
                "it unpacks to more than {} MiB",
                MAX_UNPACKED / 1024 / 1024
            )));
        }
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| damaged(format!("it breaks off in '{}' ({e})", name)))?;
        got.push((name, bytes));
    }
    if got.is_empty() {
        return Err(not_a_bundle(
            "it is not a gzip'd tar, or an empty one".into(),
        ));
    }
    let Some((_, raw)) = got.iter().find(|(n, _)| n == files::MANIFEST) else {
        return Err(not_a_bundle(format!("it holds no {}", files::MANIFEST)));
    };
    let value: serde_json::Value = serde_json::from_slice(raw)
        .map_err(|e| damaged(format!("its {} is not JSON ({e})", files::MANIFEST)))?;
    let found = value
        .get("format")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("(none)")
        .to_string();
    if found != FORMAT {
        return Err(IncidentError::Format {
            path: shown.clone(),
            found: crate::domain::text::shown(&found),
        });
    }
    let manifest: Manifest = serde_json::from_value(value)
        .map_err(|e| damaged(format!("its {} cannot be read ({e})", files::MANIFEST)))?;
    for entry in &manifest.files {
        let Some((_, bytes)) = got.iter().find(|(n, _)| *n == entry.path) else {
            return Err(damaged(format!(
                "'{}' is listed in its manifest but missing",
                crate::domain::text::shown(&entry.path)
            )));
        };
        if bytes.len() as u64 != entry.bytes || sha256(bytes) != entry.sha256 {
            return Err(damaged(format!(
                "'{}' does not match the size and SHA-256 its manifest lists",
                crate::domain::text::shown(&entry.path)
            )));
        }
    }
    if let Some((extra, _)) = got
        .iter()
        .find(|(n, _)| n != files::MANIFEST && !manifest.files.iter().any(|e| e.path == *n))
    {
        return Err(damaged(format!(
            "it holds '{}', which its manifest does not list",
            crate::domain::text::shown(extra)
        )));
    }
    Ok(Bundle {
        manifest,
        files: got,
    })
}

/// A gzip'd tar of `entries`, for tests that build a bundle by hand.
#[cfg(test)]
pub(super) fn gzip_tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, bytes) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o600);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, name, *bytes).unwrap();
    }
    let mut gz = tar.into_inner().unwrap();
    std::io::Write::flush(&mut gz).unwrap();
    gz.finish().unwrap()
}

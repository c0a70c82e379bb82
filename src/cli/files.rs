//! Output files written atomically: to a temporary name in the same folder, then
//! renamed, so an interrupted run never leaves a half-written file and the
//! previous results stay intact until the new ones are complete.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The temporary name used while `path` is being written.
fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes `path` through `fill`, atomically.
pub fn write_atomic(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let tmp = temp_name(path);
    let result = (|| -> std::io::Result<()> {
        let mut w = BufWriter::new(File::create(&tmp)?);
        fill(&mut w)?;
        w.flush()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

/// Writes bytes to `path`, atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// A file being streamed to a temporary name; [`Streamed::commit`] renames it
/// into place, dropping it without commit removes it.
pub struct Streamed {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl Streamed {
    /// Opens the temporary file for `path`.
    pub fn create(path: &Path) -> Result<(Streamed, BufWriter<File>)> {
        let tmp = temp_name(path);
        let f = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok((Streamed { tmp, path: path.to_path_buf(), committed: false }, BufWriter::with_capacity(1 << 16, f)))
    }

    /// Moves the finished file into place.
    pub fn commit(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.path).with_context(|| format!("cannot move {} into place", self.path.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Streamed {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Creates the output folder (and parents), with a clear error.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create output folder {}", dir.display()))?;
    let probe = dir.join(format!(".sim-write-test-{}", std::process::id()));
    File::create(&probe).with_context(|| format!("output folder {} is not writable", dir.display()))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

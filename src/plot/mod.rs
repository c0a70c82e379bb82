//! Placeholder until the plot module lands.
use crate::metrics::RunResult;
/// Errors from drawing.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Drawing failed.
    #[error("{0}")]
    Draw(String),
}
/// Latency.
pub fn latency_png(_r: &RunResult) -> Result<Vec<u8>, PlotError> {
    Err(PlotError::Draw("todo".into()))
}
/// Queue.
pub fn queue_depth_png(_r: &RunResult) -> Result<Vec<u8>, PlotError> {
    Err(PlotError::Draw("todo".into()))
}
/// Errors.
pub fn errors_png(_r: &RunResult) -> Result<Vec<u8>, PlotError> {
    Err(PlotError::Draw("todo".into()))
}
/// Dashboard.
pub fn dashboard_png(_r: &RunResult) -> Result<Vec<u8>, PlotError> {
    Err(PlotError::Draw("todo".into()))
}
